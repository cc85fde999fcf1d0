"""The one outgoing HTTP client a lab service calls other services (and webhook receivers) with.

What every call gets, so no service writes it again:

* the caller's ``X-Request-ID`` passed on (a request's trail does not stop at the first hop)
  and the W3C ``traceparent`` of the current span (through OpenTelemetry's httpx instrumentation);
* a timeout on every call (connect, read, write: no call waits forever);
* the SSRF guard: only loopback and the lab's own host names (``targets.target_problem``),
  and redirects are never followed, so an allowed URL cannot bounce the call elsewhere;
* a line in the service's log and two series in its ``/metrics``:
  ``http_client_requests_total{target,method,status}`` and ``http_client_request_duration_seconds``.

The client is async (it runs on the shared event loop) and is made on first use::

    resp = await request.app.state.client.get(url("catalog") + "/api/products/1")
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import httpx

try:  # httpcore imports sniffio on a client's first request, on the shared event loop: import it now
    import sniffio  # noqa: F401
except ImportError:  # pragma: no cover - httpcore does without
    pass

from . import tracing
from .context import current_request_id, new_request_id
from .declaration import declarations
from .metrics import Metrics
from .targets import lab_hosts, target_problem

log = logging.getLogger("labservices.client")

DEFAULT_TIMEOUT_S = 5.0
Headers = dict[str, str] | list[tuple[str, str]]
MAX_TIMEOUT_S = 60.0


class TargetRefused(ValueError):
    """The URL is not one a lab service may call (SSRF guard); the message says why, in Ukrainian."""


def target_name(url: str) -> str:
    """A bounded metrics label for ``url``: the lab service it points at, else its host name."""
    parts = urlsplit(url)
    for service in declarations():
        for copy in service.copies():  # catalog-2 is the catalog too
            known = urlsplit(copy.url)
            if (parts.hostname, parts.port) == (known.hostname, known.port) or parts.hostname == service.name:
                return service.name
    return parts.hostname or "unknown"


class ServiceClient:
    """``httpx.AsyncClient`` with the lab's conventions; one per app (``app.state.client``)."""

    def __init__(self, service: str, metrics: Metrics | None = None, *, timeout: float = DEFAULT_TIMEOUT_S,
                 allowed_hosts: list[str] | None = None, max_connections: int = 50) -> None:
        self.service = service
        self.metrics = metrics
        self.timeout = timeout
        self.allowed_hosts = allowed_hosts
        self.max_connections = max_connections
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # made on first use: most services never call out
            self._client = self._make()
        return self._client

    def _make(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False,
                                   limits=httpx.Limits(max_connections=self.max_connections))
        tracing.instrument_client(client, self.service)
        return client

    async def _ready(self) -> httpx.AsyncClient:
        """The client, made in a worker thread the first time: loading the CA certificates for its SSL
        context takes tens of milliseconds, up to a few hundred on a busy machine, too long for the loop."""
        if self._client is None:
            made = await asyncio.to_thread(self._make)
            if self._client is None:
                self._client = made
            else:
                await made.aclose()
        return self._client

    def _prepare(self, method: str, url: str, headers: Headers | None,
                 timeout: float | None) -> tuple[list[tuple[str, str]], httpx.Timeout]:
        problem = target_problem(url, self.allowed_hosts if self.allowed_hosts is not None else lab_hosts())
        if problem:
            raise TargetRefused(problem)
        sent = list(headers.items() if isinstance(headers, dict) else headers or [])
        if not any(k.lower() == "x-request-id" for k, _ in sent):  # a replayed request keeps its own
            sent.insert(0, ("X-Request-ID", current_request_id() or new_request_id()))
        seconds = min(timeout if timeout is not None else self.timeout, MAX_TIMEOUT_S)
        return sent, httpx.Timeout(seconds)

    def _record(self, method: str, url: str, status: int | str, started: float, error: str | None = None) -> None:
        elapsed = time.perf_counter() - started
        target = target_name(url)
        if self.metrics is not None:
            self.metrics.client_requests(target, method, str(status)).inc()
            self.metrics.client_latency(target, method).observe(elapsed)
        log.info("call %s %s %s", method, url, status, extra={
            "call_method": method, "call_url": url, "call_target": target, "call_status": status,
            "call_duration_ms": round(elapsed * 1000, 2), "call_error": error})

    async def _built(self) -> httpx.AsyncClient:
        # The first build instruments the client for tracing (a tracer provider, maybe the span exporter):
        # a moment of work that belongs in a thread, not on the loop every service shares.
        if self._client is None:
            await asyncio.to_thread(lambda: self.client)
        return self.client

    async def request(self, method: str, url: str, *, headers: Headers | None = None,
                      timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        """Send one request; raises ``TargetRefused`` or ``httpx.HTTPError`` (timeout, refused...)."""
        sent, limit = self._prepare(method, url, headers, timeout)
        await self._built()
        started = time.perf_counter()
        try:
            resp = await (await self._ready()).request(method, url, headers=sent, timeout=limit, **kwargs)
        except httpx.HTTPError as exc:
            self._record(method, url, _outcome(exc), started, f"{type(exc).__name__}: {exc}"[:300])
            raise
        self._record(method, url, resp.status_code, started)
        return resp

    @asynccontextmanager
    async def stream(self, method: str, url: str, *, headers: Headers | None = None,
                     timeout: float | None = None, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """Like :meth:`request`, but the body is read by the caller (to keep only its first bytes)."""
        sent, limit = self._prepare(method, url, headers, timeout)
        await self._built()
        started = time.perf_counter()
        try:
            client = await self._ready()
            async with client.stream(method, url, headers=sent, timeout=limit, **kwargs) as resp:
                self._record(method, url, resp.status_code, started)
                yield resp
        except httpx.HTTPError as exc:
            self._record(method, url, _outcome(exc), started, f"{type(exc).__name__}: {exc}"[:300])
            raise

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _outcome(exc: httpx.HTTPError) -> str:
    """A status label for a call that got no answer: timeout, refused or error."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "refused"
    return "error"
