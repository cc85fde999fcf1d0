"""Distributed tracing with OpenTelemetry: one trace id across services, spans kept by the lab.

Every service is instrumented with the OpenTelemetry SDK: a small ASGI middleware
(``middleware/trace.py``) opens a server span for each request, picks up a caller's W3C
``traceparent`` and names the span after the matched route (``GET /api/products/{product_id}``);
the httpx instrumentation opens a client span for each outgoing call and sends ``traceparent``
on, so a request that crosses five services is one trace. (The generic ASGI and FastAPI
instrumentations did the same at a cost larger than a request's own work; see that module.)
The lab needs no tracing server: finished spans are written, in a background thread, to one
SQLite file (``$LAB_HOME/traces.sqlite3``) that every process of the lab shares and that
``labkit.traces`` reads to draw a waterfall.

``LAB_TRACING=0`` switches tracing off (the benchmarks compare both).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Sequence

import httpx
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from .paths import traces_file

MAX_SPANS = 20_000  # the file keeps the newest spans only: a sandbox, not an archive
EXCLUDED_PATHS = ("/health", "/metrics", "/docs", "/redoc", "/openapi.json")

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_id TEXT,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_by_trace ON spans(trace_id);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans(start_ns);
"""


def enabled() -> bool:
    return os.environ.get("LAB_TRACING", "1").lower() not in ("0", "false", "no", "off")


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=5, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(SCHEMA)
    return conn


class SqliteSpanExporter(SpanExporter):
    """Writes finished spans to the lab's traces file; runs in the batch processor's thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows = [_row(span) for span in spans]
        try:
            with self._lock:
                if self._conn is None:
                    self._conn = connect(self.path)
                conn = self._conn
                conn.execute("BEGIN")
                try:
                    conn.executemany("INSERT INTO spans VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                    last = conn.execute("SELECT MAX(rowid) FROM spans").fetchone()[0] or 0
                    if last > MAX_SPANS and last % 500 < len(rows):  # prune now and then, not on every batch
                        conn.execute("DELETE FROM spans WHERE rowid <= ?", (last - MAX_SPANS,))
                    conn.execute("COMMIT")
                except sqlite3.Error:
                    conn.execute("ROLLBACK")  # else the next batch's BEGIN fails too: tracing would stop for good
                    raise
        except sqlite3.Error:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _row(span: ReadableSpan) -> tuple:
    ctx = span.get_span_context()
    parent = span.parent.span_id if span.parent is not None else None
    attributes = {k: (v if isinstance(v, (str, int, float, bool)) else list(v)) for k, v in (span.attributes or {}).items()}
    status = span.status.status_code.name.lower()  # unset | ok | error
    return (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", f"{parent:016x}" if parent else None,
            span.resource.attributes.get("service.name", "unknown"), span.name, span.kind.name.lower(),
            span.start_time or 0, span.end_time or span.start_time or 0, status,
            json.dumps(attributes, ensure_ascii=False, default=str))


_processor: BatchSpanProcessor | None = None
_providers: dict[str, TracerProvider] = {}
_setup_lock = threading.Lock()


def tracer_provider(service: str) -> TracerProvider:
    """The tracer provider of ``service`` (its name on every span); all share one exporter."""
    global _processor
    with _setup_lock:
        provider = _providers.get(service)
        if provider is None:
            if _processor is None:
                _processor = BatchSpanProcessor(SqliteSpanExporter(traces_file()), schedule_delay_millis=200)
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            provider.add_span_processor(_processor)
            _providers[service] = provider
        return provider


def tracer(service: str) -> trace.Tracer:
    """A tracer for spans a service opens itself (a worker's job, a message it handles)."""
    return tracer_provider(service).get_tracer("labservices")


def instrument_app(app, service: str) -> None:
    """Open a server span per request (except health, metrics and docs) and join a caller's trace."""
    if not enabled():
        return
    from .middleware.trace import TraceMiddleware

    app.add_middleware(TraceMiddleware, tracer=tracer(service), excluded=EXCLUDED_PATHS)


def instrument_client(client, service: str) -> None:
    """Open a client span per outgoing call and send ``traceparent`` on."""
    if not enabled():
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracer_provider(service),
                                              request_hook=_name_client_span)


async def _name_client_span(span, request) -> None:
    """``POST payments /api/payment_intents`` rather than a bare ``POST``: which service, which path."""
    if span is None or not span.is_recording() or not isinstance(request.url, httpx.URL):
        return
    from .client import target_name

    span.update_name(f"{request.method.decode()} {target_name(str(request.url))} {request.url.path}")


def flush(timeout_ms: int = 2000) -> None:
    """Write the spans still queued (tests and notebooks read the file right after a request)."""
    if _processor is not None:
        _processor.force_flush(timeout_ms)


def shutdown() -> None:
    if _processor is not None:
        _processor.shutdown()


def traceresponse() -> str | None:
    """The W3C ``traceresponse`` value of the current span: ``00-<trace id>-<span id>-<flags>``."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
