"""Fixed-window rate limiting per API key, OAuth client or user, kept in memory.

Each caller gets ``limit`` requests per ``window_s`` seconds; the window starts with
its first request. Every authenticated answer carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix time the window ends, as
GitHub sends it); a refused one is 429 with ``Retry-After`` in whole seconds.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


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
