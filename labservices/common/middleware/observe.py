"""Requests counted and timed for /metrics by route template, and one JSON access line each (but a scrape's)."""
from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics import Metrics

access_log = logging.getLogger("labservices.access")


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what an exception that escapes everything becomes

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, watched)
        finally:
            self.metrics.in_progress.dec()
            elapsed = time.perf_counter() - started
            route, method, path = route_template(scope), scope.get("method", ""), scope.get("path", "")
            self.metrics.requests(method, route, str(status)).inc()
            self.metrics.latency(method, route).observe(elapsed)
            if route == "/metrics" and status == 200:
                return  # Prometheus scrapes every 5 s: counted above, but kept out of the service's log
            access_log.info("%s %s %s", method, path, status, extra={
                "method": method, "path": path, "route": route, "status": status,
                "duration_ms": round(elapsed * 1000, 2), "client": (scope.get("client") or ("", 0))[0]})


def route_template(scope: Scope) -> str:
    """The matched route's full template (``/api/v2/users/{user_id}``), never the raw path: bounded labels.

    A route included with a prefix knows only its own part of the path, so the
    prefix is recovered as the part of the request path in front of what it matched.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return "<unmatched>"
    regex = getattr(route, "path_regex", None)
    path = scope.get("path", "")
    if regex is not None and not regex.fullmatch(path):
        for i in range(1, len(path)):
            if path[i] == "/" and regex.fullmatch(path[i:]):
                return path[:i] + template
    return template
