"""413 for a request body over the limit, whether its size is declared or it arrives in chunks.

A declared ``Content-Length`` over the limit is refused before anything is read. A body
without one (chunked) is read up to the limit first and then handed to the app whole, so
an oversized stream is a 413 too, never a parse error of its first megabyte.
"""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .reply import reply_error


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                await reply_error(scope, send, 400, "Некоректний заголовок Content-Length")
                return
            if int(length) > self.limit:
                await self._too_large(scope, send)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)  # no declared body: nothing to buffer
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._too_large(scope, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await reply_error(scope, send, 413, f"Тіло запиту більше за {self.limit} байт", "PAYLOAD_TOO_LARGE")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would say it

    return again
