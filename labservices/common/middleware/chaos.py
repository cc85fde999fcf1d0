"""The chaos switches applied to every request outside ``/admin``, ``/metrics`` and the docs."""
from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from ..chaos import ChaosState
from ..metrics import Metrics
from .reply import reply_error

# Paths the chaos switches never touch, so a notebook can always switch them off again.
CHAOS_EXEMPT = ("/admin", "/metrics", "/docs", "/redoc", "/openapi.json")


class ChaosMiddleware:
    def __init__(self, app: ASGIApp, *, chaos: ChaosState, metrics: Metrics) -> None:
        self.app = app
        self.chaos = chaos
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CHAOS_EXEMPT):
            await self.app(scope, receive, send)
            return
        if self.chaos.down:
            self.metrics.chaos("down").inc()
            await reply_error(scope, send, 503, "Сервіс вимкнено (chaos: down)", headers={"Retry-After": "5"})
            return
        delay = self.chaos.delay_seconds()
        if delay > 0:
            self.metrics.chaos("latency").inc()
            await asyncio.sleep(delay)
        if path != "/health" and self.chaos.roll_error():
            self.metrics.chaos("error").inc()
            await reply_error(scope, send, self.chaos.error_status, "Збій, внесений chaos-перемикачем")
            return
        await self.app(scope, receive, send)
