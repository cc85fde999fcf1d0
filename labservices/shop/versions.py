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

from labservices.common import ApiError, error_responses

SUPPORTED = (1, 2)
DEFAULT = 1
# Version numbers are read as text and compared as text: a client's "v" followed by 5,000 digits
# (or by a Unicode digit such as "٢") is an unsupported version, never an int() to convert.
VENDOR_TYPE = re.compile(r"application/vnd\.company\.v([0-9]+)\+json", re.IGNORECASE)
PATH_VERSION = re.compile(r"^/api/v([0-9]+)/")
VERSION_VALUE = "[vV]?(" + "|".join(str(v) for v in SUPPORTED) + ")"  # exactly what ?version accepts
VERSION_ERRORS = error_responses(400, 406)  # on every versioned route: ?version, Accept


def _unsupported(status: int, where: str, value: str) -> ApiError:
    supported = ", ".join(str(v) for v in SUPPORTED)
    shown = value if len(value) <= 24 else value[:20] + "..."
    return ApiError(status, "UNSUPPORTED_VERSION", f"Версії API {shown} немає; підтримуються: {supported}",
                    [{"field": where, "message": f"Допустимі значення: {supported}"}])


def _supported(digits: str) -> int | None:
    """The supported version ``digits`` names (ASCII digits), or None."""
    return next((v for v in SUPPORTED if digits.lstrip("0") == str(v)), None)


async def api_version(
    request: Request,
    version: Annotated[str, Query(max_length=20, json_schema_extra={"pattern": f"^{VERSION_VALUE}$"},
                                  description="API version: 1 (default) or 2, also v1 or v2; the same as "
                                              "/api/v2/... or Accept: application/vnd.company.v2+json. "
                                              "Any other value answers 400 UNSUPPORTED_VERSION")] = None,
) -> int:
    """The API version this request asked for (400/406 for one the shop does not have)."""
    asked: dict[str, int] = {}
    if match := PATH_VERSION.match(request.url.path):
        asked["path"] = _supported(match[1]) or DEFAULT  # other versions never reach here (``unsupported``)
    if version is not None:
        if not re.fullmatch(VERSION_VALUE, version):
            raise _unsupported(400, "version", version)
        asked["version"] = int(version[-1])
    if match := VENDOR_TYPE.search(request.headers.get("accept", "")):
        chosen = _supported(match[1])
        if chosen is None:
            raise _unsupported(406, "Accept", f"v{match[1]}")
        asked["Accept"] = chosen
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
