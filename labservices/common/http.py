"""HTTP details a careful REST API gets right, for every lab service: JSON-only bodies, ETags with
If-None-Match / If-Match, and an absolute ``Location`` (HEAD and OPTIONS: ``middleware/head_options.py``).

``LabRouter``'s POST, PUT and PATCH routes refuse bodies that are not JSON (415).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .errors import ApiError

BODY_METHODS = {"POST", "PUT", "PATCH"}


async def require_json(request: Request) -> None:
    """415 for a request body that is not JSON (an empty body is left to validation: 400)."""
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE",
                       f"Тіло запиту має бути JSON (Content-Type: application/json), а не {media or 'без типу'}",
                       [{"field": "Content-Type", "message": "Очікується application/json"}])


class LabRouter(APIRouter):
    """An APIRouter whose POST, PUT and PATCH routes refuse a body that is not JSON (415)."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ["GET"]}
        if methods & BODY_METHODS:
            kwargs["dependencies"] = [Depends(require_json), *(kwargs.get("dependencies") or [])]
        super().add_api_route(path, endpoint, **kwargs)


def etag_of(body: dict[str, Any]) -> str:
    """A strong ETag: a hash of the representation exactly as it is sent."""
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:20] + '"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def with_etag(request: Request, model: BaseModel) -> Response:
    """The model as JSON with its ETag, or 304 Not Modified when If-None-Match already has it."""
    body = model.model_dump(mode="json")
    etag = etag_of(body)
    wanted = request.headers.get("if-none-match")
    if wanted is not None:
        known = {t.removeprefix("W/") for t in _tags(wanted)}  # If-None-Match compares weakly
        if "*" in known or etag in known:
            return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(body, headers={"ETag": etag})


def if_match(request: Request, current: BaseModel) -> None:
    """412 when If-Match is sent and names no current ETag of the resource (strong comparison)."""
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    etag = etag_of(current.model_dump(mode="json"))
    tags = _tags(wanted)
    if "*" not in tags and etag not in tags:
        raise ApiError(412, "PRECONDITION_FAILED",
                       "Ресурс змінився після вашого читання: прочитайте його знову (GET) і повторіть з новим ETag",
                       [{"field": "If-Match", "message": f"Поточний ETag: {etag}"}], headers={"ETag": etag})


def json_with_etag(model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """The model as JSON with its ETag (the answer to PUT, PATCH and POST)."""
    body = model.model_dump(mode="json")
    return JSONResponse(body, status_code=status_code, headers={"ETag": etag_of(body), **(headers or {})})


def base_url(request: Request) -> str:
    """Where clients reach the service: its configured ``public_url``, else the address this request came to."""
    public_url = getattr(request.app.state.settings, "public_url", None)
    return (public_url or str(request.base_url)).rstrip("/")


def location_of(request: Request) -> Callable[[int | str], str]:
    """The absolute URL of a resource created in the collection this request posted to."""
    collection = base_url(request) + request.url.path.rstrip("/")
    return lambda resource_id: f"{collection}/{resource_id}"


NOT_ALLOWED_ROUTE = "method_not_allowed"  # routes that only refuse: head_options leaves them out of Allow


def refuse_other_methods(router: APIRouter, path: str, allowed: list[str]) -> None:
    """405 (with ``Allow``) for the methods ``path`` does not take, where another route would catch them.

    ``POST /api/orders/sync`` is an action beside ``GET /api/orders/{order_id}``: without this, a GET of
    it is routed to the order lookup and answers 400 for an order id "sync" instead of 405.
    """
    others = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m not in allowed]
    allow = ", ".join(sorted({*allowed, "OPTIONS", *(["HEAD"] if "GET" in allowed else [])}))

    async def method_not_allowed() -> None:
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"{path} приймає лише {', '.join(allowed)}", headers={"Allow": allow})

    router.add_api_route(path, method_not_allowed, methods=others, include_in_schema=False, name=NOT_ALLOWED_ROUTE)
