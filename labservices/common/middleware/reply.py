"""An error answer straight from ASGI, for middleware that answers before the app runs."""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import Scope, Send

from ..errors import DEFAULT_CODES, DEFAULT_MESSAGES, error_body


async def reply_error(scope: Scope, send: Send, status: int, message: str | None = None, code: str | None = None,
                      headers: dict[str, str] | None = None) -> None:
    """Send the lecture's envelope (or problem+json when the client asks) with ``status``."""
    accept = Headers(scope=scope).get("accept")
    body, media = error_body(status, code or DEFAULT_CODES.get(status, f"HTTP_{status}"),
                             message or DEFAULT_MESSAGES.get(status, "Помилка"), accept=accept,
                             path=scope.get("path", ""))
    raw = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
