"""One ASGI middleware for what every request shares.

In order: take or make the request id, refuse oversized bodies, apply the chaos
switches, time the request for /metrics, write one JSON access-log line, and turn
any unhandled exception into a 500 envelope without a stack trace.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .chaos import ChaosState
from .context import accept_request_id, request_id_var
from .errors import DEFAULT_MESSAGES, error_body
from .metrics import Metrics

access_log = logging.getLogger("labservices.access")
error_log = logging.getLogger("labservices.errors")

# Paths the chaos switches never touch, so a notebook can always switch them off again.
CHAOS_EXEMPT = ("/admin", "/metrics", "/docs", "/redoc", "/openapi.json")


class BodyTooLarge(Exception):
    pass


class LabMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        chaos: ChaosState,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.chaos = chaos
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        request_id = accept_request_id(headers.get("x-request-id"))
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500, "started": False}
        accept = headers.get("accept")
        path = scope.get("path", "")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                raw = list(message.get("headers", []))
                raw.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": raw}
            await send(message)

        async def reply_error(status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
            body, media = error_body(status, code, message, accept=accept, path=path)
            raw = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
            raw += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
            await send_wrapper({"type": "http.response.start", "status": status, "headers": raw})
            await send_wrapper({"type": "http.response.body", "body": body})

        self.metrics.in_progress.inc()
        try:
            length = headers.get("content-length")
            if length and length.isdigit() and int(length) > self.max_body_bytes:
                await reply_error(413, "PAYLOAD_TOO_LARGE", f"Тіло запиту більше за {self.max_body_bytes} байт")
                return

            if not path.startswith(CHAOS_EXEMPT):
                if self.chaos.down:
                    self.metrics.chaos("down").inc()
                    await reply_error(503, "SERVICE_UNAVAILABLE", "Сервіс вимкнено (chaos: down)", {"Retry-After": "5"})
                    return
                delay = self.chaos.delay_seconds()
                if delay > 0:
                    self.metrics.chaos("latency").inc()
                    await asyncio.sleep(delay)
                if path != "/health" and self.chaos.roll_error():
                    self.metrics.chaos("error").inc()
                    status = self.chaos.error_status
                    await reply_error(status, _code(status), "Збій, внесений chaos-перемикачем")
                    return

            await self.app(scope, self._limited(receive), send_wrapper)
        except BodyTooLarge:
            if not status_holder["started"]:
                await reply_error(413, "PAYLOAD_TOO_LARGE", f"Тіло запиту більше за {self.max_body_bytes} байт")
        except Exception:  # noqa: BLE001 - the last line of defence: log it, answer 500, never leak it
            error_log.exception("unhandled error", extra={"method": scope.get("method"), "path": path})
            if not status_holder["started"]:
                await reply_error(500, "INTERNAL_ERROR", DEFAULT_MESSAGES[500])
        finally:
            self.metrics.in_progress.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            status = status_holder["status"]
            self.metrics.requests(method, route, str(status)).inc()
            self.metrics.latency(method, route).observe(elapsed)
            access_log.info(
                "%s %s %s", method, path, status,
                extra={"method": method, "path": path, "route": route, "status": status,
                       "duration_ms": round(elapsed * 1000, 2),
                       "client": (scope.get("client") or ("", 0))[0]},
            )
            request_id_var.reset(token)

    def _limited(self, receive: Receive) -> Callable[[], Any]:
        seen = 0
        limit = self.max_body_bytes

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        return wrapped


def _code(status: int) -> str:
    from .errors import DEFAULT_CODES

    return DEFAULT_CODES.get(status, f"HTTP_{status}")


def _route_template(scope: Scope) -> str:
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
