"""Fixed-window rate limiting per caller (API key, OAuth client, user), kept in memory.

Each caller gets ``limit`` requests per ``window_s`` seconds; the window starts with its
first request. :func:`count` counts a request and refuses it with 429 and ``Retry-After``
(whole seconds) once the window is used up, counted in ``rate_limit_violations_total``; every answer to a counted request carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix time the
window ends, as GitHub sends it), stamped by :class:`RateLimitHeaders`.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset_at: float
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }

    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))


class RateLimiter:
    """Counts requests per caller; ``default`` is the (limit, window) of callers without their own."""

    def __init__(self, limit: int, window_s: int) -> None:
        self._configured = (limit, window_s)
        self.default = self._configured
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, caller: str, limit: int | None = None, window_s: int | None = None) -> RateState:
        """Count one request of ``caller`` and say whether it may go ahead."""
        limit = limit or self.default[0]
        window_s = window_s or self.default[1]
        now = time.time()
        with self._lock:
            start, count = self._windows.get(caller, (now, 0))
            if now >= start + window_s:
                start, count = now, 0
            allowed = count < limit
            if allowed:
                count += 1
            self._windows[caller] = (start, count)
        return RateState(limit, max(0, limit - count), start + window_s, allowed)

    def configure(self, limit: int, window_s: int) -> None:
        """Change the default limit at run time (``PUT /admin/rate-limit``) and start fresh windows."""
        with self._lock:
            self.default = (limit, window_s)
            self._windows.clear()

    def restore(self) -> None:
        """Back to the limit from settings, all windows fresh."""
        self.configure(*self._configured)


def count(request: Request, limiter: RateLimiter, caller: str, limit: int | None = None,
          window_s: int | None = None) -> RateState:
    """Count one request of ``caller``; 429 with ``Retry-After`` once its window is used up."""
    state = limiter.hit(caller, limit, window_s)
    request.state.rate_limit = state
    if not state.allowed:
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.rate_limited.inc()
        raise ApiError(429, "RATE_LIMITED",
                       f"Ліміт {state.limit} запитів вичерпано; повторіть через {state.retry_after()} с",
                       headers={"Retry-After": str(state.retry_after()), **state.headers()})
    return state


class RateLimitHeaders:
    """Stamps ``X-RateLimit-*`` on the answer to every request that :func:`count` counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                rate: RateState | None = state.get("rate_limit")
                if rate is not None:
                    headers = MutableHeaders(scope=message)
                    for name, value in rate.headers().items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, stamped)
