"""API versions, chosen three ways as the lecture shows: URL, Accept header, query parameter.

``/api/v2/users``, ``Accept: application/vnd.company.v2+json`` and ``?version=2`` all
ask for version 2; plain ``/api/...`` is version 1. Every answer says which version
answered in ``API-Version`` (and ``Vary: Accept``, because the header may choose it).
Version 2 changes two representations: a product's ``price`` becomes
``{"amount", "currency"}`` and a user's ``profile`` fields move to the top level.
"""
from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.convertors import Convertor, register_url_convertor

from labservices.common import ApiError

SUPPORTED = (1, 2)
DEFAULT = 1
VENDOR_TYPE = re.compile(r"application/vnd\.company\.v(\d+)\+json", re.IGNORECASE)
PATH_VERSION = re.compile(r"^/api/v(\d+)/")


def _unsupported(status: int, where: str, value: str) -> ApiError:
    supported = ", ".join(str(v) for v in SUPPORTED)
    return ApiError(status, "UNSUPPORTED_VERSION", f"Версії API {value} немає; підтримуються: {supported}",
                    [{"field": where, "message": f"Допустимі значення: {supported}"}])


async def api_version(
    request: Request,
    version: Annotated[str | None, Query(max_length=20, description="API version, 1 (default) or 2; "
                                         "the same as /api/v2/... or Accept: application/vnd.company.v2+json")] = None,
) -> int:
    """The API version this request asked for (400/406 for one the shop does not have)."""
    asked: dict[str, int] = {}
    if match := PATH_VERSION.match(request.url.path):
        asked["path"] = int(match[1])
    if version is not None:
        text = version.strip().lower().removeprefix("v")
        if not (text.isascii() and text.isdigit()) or int(text) not in SUPPORTED:
            raise _unsupported(400, "version", version)
        asked["version"] = int(text)
    if match := VENDOR_TYPE.search(request.headers.get("accept", "")):
        if int(match[1]) not in SUPPORTED:
            raise _unsupported(406, "Accept", f"v{match[1]}")
        asked["Accept"] = int(match[1])
    if len(set(asked.values())) > 1:
        said = ", ".join(f"{where}: {v}" for where, v in asked.items())
        raise ApiError(400, "VERSION_CONFLICT", f"Запит просить різні версії API ({said}); залиште одну",
                       [{"field": where, "message": f"версія {v}"} for where, v in asked.items()])
    chosen = next(iter(asked.values()), DEFAULT)
    request.state.api_version = chosen
    return chosen


ApiVersion = Annotated[int, Depends(api_version)]


class _OtherVersion(Convertor):
    """Matches ``v<digits>`` unless the digits are a supported version."""

    regex = r"v(?!(?:" + "|".join(str(v) for v in SUPPORTED) + r")/)[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("other_version", _OtherVersion())

unsupported = APIRouter()


@unsupported.api_route("/api/{version:other_version}/{rest:path}", include_in_schema=False,
                       methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def unsupported_version(version: str) -> None:
    """Answer /api/v3/... and other versions the shop does not have."""
    raise _unsupported(400, "path", version)
