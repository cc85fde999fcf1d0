"""The last line of defence: an unhandled exception is logged and answered 500, never leaked."""
from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .reply import reply_error

error_log = logging.getLogger("labservices.errors")


class LastResortMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:  # noqa: BLE001 - log it, answer 500, never show the trace to the client
            error_log.exception("unhandled error", extra={"method": scope.get("method"), "path": scope.get("path")})
            if not started:
                await reply_error(scope, send, 500)
