"""``X-Request-ID`` on every request and answer, and the trace the request joined (``traceresponse``)."""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..context import accept_request_id, request_id_var
from ..tracing import traceresponse


class RequestIdMiddleware:
    """Keeps a client's plain ``X-Request-ID`` (or makes ``req_…``) for logs, errors and outgoing calls."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(Headers(scope=scope).get("x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        trace = traceresponse()  # the server span is open by now (tracing wraps the whole stack)

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"x-request-id", request_id.encode())]
                if trace:
                    extra.append((b"traceresponse", trace.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            request_id_var.reset(token)
