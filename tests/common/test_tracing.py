"""Tracing: one trace id across services, spans kept by the lab, a waterfall in the notebook."""
from __future__ import annotations

import os

import pytest
import requests

from labkit import traces


def test_a_request_through_two_services_is_one_trace_drawn_as_a_waterfall(pair):
    toy, inspector = os.environ["LAB_TOY_URL"], os.environ["LAB_INSPECTOR_URL"]
    resp = requests.get(f"{toy}/api/call", params={"url": f"{inspector}/api/bins"})
    assert resp.status_code == 200
    waterfall = traces.trace(resp)
    rows = waterfall.rows()
    assert [r["service"] for r in rows] == ["toy", "toy", "inspector"]
    assert rows[0]["operation"] == "GET /api/call" and rows[0]["kind"] == "server"
    assert rows[1]["kind"] == "client" and rows[1]["depth"] == 1
    assert rows[2]["operation"] == "GET /api/bins" and rows[2]["depth"] == 2  # the callee's span under the call
    assert rows[0]["duration_ms"] >= rows[2]["duration_ms"]
    assert waterfall.services == ["toy", "inspector"]
    html = waterfall._repr_html_()
    assert "inspector" in html and "GET /api/bins" in html and waterfall.trace_id in html
    assert "inspector: GET /api/bins" in repr(waterfall)


def test_a_failed_request_is_an_error_span(pair):
    toy = os.environ["LAB_TOY_URL"]
    resp = requests.get(f"{toy}/api/crash")
    assert resp.status_code == 500
    [span] = traces.trace(resp).rows()
    assert span["status"] == "error" and span["operation"] == "GET /api/crash"


def test_health_and_metrics_are_not_traced(pair):
    toy = os.environ["LAB_TOY_URL"]
    assert "traceresponse" not in requests.get(f"{toy}/health").headers
    assert "traceresponse" not in requests.get(f"{toy}/metrics").headers


def test_recent_traces_list_the_services_each_crossed(pair):
    toy, inspector = os.environ["LAB_TOY_URL"], os.environ["LAB_INSPECTOR_URL"]
    resp = requests.get(f"{toy}/api/call", params={"url": f"{inspector}/api/bins"})
    traces.trace(resp)
    latest = traces.recent_traces("inspector", limit=5)
    mine = next(t for t in latest if t["trace_id"] == traces.trace_id_of(resp))
    assert mine["services"] == ["inspector", "toy"] and mine["spans"] == 3


@pytest.mark.parametrize("bad", ["nope", "00-xyz-abc-01", "0" * 31])
def test_a_bad_trace_id_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="trace"):
        traces.trace_id_of(bad)


def test_a_response_from_outside_the_lab_has_no_trace():
    resp = requests.Response()
    with pytest.raises(ValueError, match="traceresponse"):
        traces.trace_id_of(resp)


def test_a_batch_the_file_refuses_does_not_stop_tracing_for_good(tmp_path):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from labservices.common.tracing import SpanExportResult, SqliteSpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for name in ("first", "refused", "after"):
        provider.get_tracer("t").start_span(name).end()
    first, refused, after = ([span] for span in memory.get_finished_spans())
    exporter = SqliteSpanExporter(tmp_path / "traces.sqlite3")
    assert exporter.export(first) == SpanExportResult.SUCCESS
    conn = exporter._conn
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON spans BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    assert exporter.export(refused) == SpanExportResult.FAILURE
    conn.execute("DROP TRIGGER refuse")
    assert exporter.export(after) == SpanExportResult.SUCCESS
    assert [r[0] for r in conn.execute("SELECT name FROM spans ORDER BY rowid")] == ["first", "after"]
    exporter.shutdown()
