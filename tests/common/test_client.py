"""The one outgoing client: request id and trace context passed on, timeouts, the SSRF guard, metrics."""
from __future__ import annotations

import asyncio
import os

import httpx
import pytest
import requests

from labkit.procs import free_port
from labservices.common.client import ServiceClient, TargetRefused
from labservices.common.metrics import Metrics


def urls() -> tuple[str, str]:
    return os.environ["LAB_TOY_URL"], os.environ["LAB_INSPECTOR_URL"]


def test_a_call_carries_the_callers_request_id_and_trace_on(pair):
    toy, _ = urls()
    resp = requests.get(f"{toy}/api/call", params={"url": f"{toy}/api/headers"}, headers={"X-Request-ID": "hop-1"})
    assert resp.status_code == 200
    seen = resp.json()["body"]
    assert seen["x-request-id"] == "hop-1"
    trace_id = resp.headers["traceresponse"].split("-")[1]
    assert seen["traceparent"].split("-")[1] == trace_id  # the callee joined the caller's trace


def test_a_call_without_a_request_id_gets_the_one_the_caller_was_given(pair):
    toy, _ = urls()
    resp = requests.get(f"{toy}/api/call", params={"url": f"{toy}/api/headers"})
    assert resp.json()["body"]["x-request-id"] == resp.headers["X-Request-ID"]


def test_calls_are_counted_by_target_and_outcome(pair):
    toy, inspector = urls()
    requests.get(f"{toy}/api/call", params={"url": f"{inspector}/health"})
    metrics = requests.get(f"{toy}/metrics").text
    assert 'http_client_requests_total{method="GET",status="200",target="inspector"}' in metrics
    assert 'http_client_request_duration_seconds_count{method="GET",target="inspector"}' in metrics


def run(coro):
    return asyncio.run(coro)


def test_the_ssrf_guard_refuses_metadata_and_private_addresses_with_a_reason():
    client = ServiceClient("test")
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.0.0.5/", "ftp://127.0.0.1/",
                "http://user:pw@127.0.0.1/"):
        with pytest.raises(TargetRefused) as refused:
            run(client.get(url))
        assert str(refused.value)  # a sentence that says why, in Ukrainian


def test_lab_host_names_are_allowed_by_default():
    client = ServiceClient("test")
    sent, _ = client._prepare("GET", "http://inspector:8003/health", None, None)
    assert ("X-Request-ID", sent[0][1]) == sent[0]


def test_a_slow_callee_times_out_and_is_counted_as_a_timeout(pair):
    toy, _ = urls()
    requests.put(f"{toy}/admin/chaos", json={"latency_ms": 1500})
    metrics = Metrics("test")
    try:
        with pytest.raises(httpx.TimeoutException):
            run(ServiceClient("test", metrics, timeout=0.3).get(f"{toy}/api/notes"))
    finally:
        requests.delete(f"{toy}/admin/chaos")
    assert 'http_client_requests_total{method="GET",status="timeout",target="toy"} 1.0' in metrics.render().decode()


def test_a_stopped_callee_is_counted_as_refused():
    metrics = Metrics("test")
    with pytest.raises(httpx.ConnectError):
        run(ServiceClient("test", metrics).get(f"http://127.0.0.1:{free_port()}/"))
    assert 'status="refused"' in metrics.render().decode()


def test_a_replayed_request_keeps_its_own_request_id():
    client = ServiceClient("test")
    sent, _ = client._prepare("POST", "http://127.0.0.1:1/", [("X-Request-ID", "original")], None)
    assert [v for k, v in sent if k.lower() == "x-request-id"] == ["original"]
