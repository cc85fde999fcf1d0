"""``API-Version`` and ``Vary: Accept`` on every /api answer: the version a client got, and that it depends on Accept."""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class VersionHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "api_version" in state:
                    headers.setdefault("API-Version", str(state["api_version"]))
                headers.add_vary_header("Accept")
            await send(message)

        await self.app(scope, receive, stamped)
