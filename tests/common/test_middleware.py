"""Request ids, metrics, health and chaos switches that every service shares."""
import requests


def test_request_id_is_made_and_echoed(toy_url):
    resp = requests.get(f"{toy_url}/nope")
    rid = resp.headers["X-Request-ID"]
    assert rid.startswith("req_")
    assert resp.json()["error"]["request_id"] == rid


def test_client_request_id_is_kept(toy_url):
    resp = requests.get(f"{toy_url}/api/crash", headers={"X-Request-ID": "trace-42"})
    assert resp.headers["X-Request-ID"] == "trace-42"
    assert resp.json()["error"]["request_id"] == "trace-42"


def test_unsafe_request_id_is_replaced(toy_url):
    resp = requests.get(f"{toy_url}/health", headers={"X-Request-ID": "x" * 500})
    assert resp.headers["X-Request-ID"].startswith("req_")


def test_health_names_the_service(toy_url):
    body = requests.get(f"{toy_url}/health").json()
    assert body["status"] == "ok" and body["service"] == "toy"


def test_metrics_count_requests_by_route_template(toy_url):
    requests.get(f"{toy_url}/api/conflict")
    text = requests.get(f"{toy_url}/metrics").text
    assert 'http_requests_total{method="GET",route="/api/conflict",status="409"}' in text
    assert "http_request_duration_seconds_bucket" in text


def test_metrics_label_a_prefixed_route_with_its_full_template(toy_url):
    requests.get(f"{toy_url}/api/v2/echo/7")
    text = requests.get(f"{toy_url}/metrics").text
    assert 'route="/api/v2/echo/{n}",status="200"' in text
    assert 'route="/echo/{n}"' not in text


def test_chaos_down_answers_503_everywhere_but_admin(toy_url):
    assert requests.put(f"{toy_url}/admin/chaos", json={"down": True}).status_code == 200
    try:
        for path in ("/api/notes", "/health"):
            resp = requests.get(toy_url + path)
            assert resp.status_code == 503
            assert resp.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert resp.headers["Retry-After"]
        assert requests.get(f"{toy_url}/admin/chaos").json()["down"] is True
    finally:
        assert requests.delete(f"{toy_url}/admin/chaos").status_code == 204
    assert requests.get(f"{toy_url}/api/notes").status_code == 200


def test_chaos_error_rate_one_fails_every_request_with_the_chosen_status(toy_url):
    requests.put(f"{toy_url}/admin/chaos", json={"error_rate": 1.0, "error_status": 502})
    try:
        statuses = {requests.get(f"{toy_url}/api/notes").status_code for _ in range(5)}
    finally:
        requests.delete(f"{toy_url}/admin/chaos")
    assert statuses == {502}
    assert 'chaos_injected_total{kind="error"}' in requests.get(f"{toy_url}/metrics").text


def test_chaos_latency_is_applied_and_counted(toy_url):
    requests.put(f"{toy_url}/admin/chaos", json={"latency_ms": 50})
    try:
        requests.get(f"{toy_url}/api/notes")
    finally:
        requests.delete(f"{toy_url}/admin/chaos")
    assert 'chaos_injected_total{kind="latency"}' in requests.get(f"{toy_url}/metrics").text


def test_chaos_settings_are_validated(toy_url):
    resp = requests.put(f"{toy_url}/admin/chaos", json={"latency_ms": 999999, "error_rate": 2})
    assert resp.status_code == 400
    assert {d["field"] for d in resp.json()["error"]["details"]} == {"latency_ms", "error_rate"}
    assert requests.get(f"{toy_url}/admin/chaos").json()["latency_ms"] == 0


def test_reset_restores_seed_data(toy_url):
    requests.post(f"{toy_url}/api/notes", json={"text": "тимчасова", "age": 30})
    assert requests.post(f"{toy_url}/admin/reset").json() == {"status": "reset", "service": "toy"}
    assert [n["text"] for n in requests.get(f"{toy_url}/api/notes").json()] == ["перша нотатка"]


def test_docs_describe_the_chaos_switches(toy_url):
    spec = requests.get(f"{toy_url}/openapi.json").json()
    assert "/admin/chaos" in spec["paths"]
    assert "Chaos switches" in spec["info"]["description"]
