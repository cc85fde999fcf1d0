"""The lecture's error envelope for every failure, RFC 9457 on request, chaos-injected 500 and 503, no 500 from bad input."""
from __future__ import annotations

import re

import pytest

from tests.shop.shopapi import MANAGER, READER, error_code, fields


@pytest.fixture
def chaos(api):
    """Turn the chaos switches on inside a test; always switched off again."""
    yield lambda **cfg: api.put("/admin/chaos", json=cfg)
    assert api.delete("/admin/chaos").status_code == 204


def test_error_envelope_has_the_lecture_shape(api):
    resp = api.post("/api/users", json={"email": "bad", "age": 17}, headers={**MANAGER, "X-Request-ID": "req_abc123"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id", "timestamp"}
    assert error["code"] == "VALIDATION_ERROR" and error["message"] == "Некоректні дані запиту"
    messages = {d["field"]: d["message"] for d in error["details"]}
    assert messages["email"] == "Невірний формат email адреси" and messages["age"] == "Невідоме поле"
    assert error["request_id"] == "req_abc123" == resp.headers["X-Request-ID"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", error["timestamp"])


def test_problem_json_on_request(api):
    resp = api.get("/api/products/999999", headers={"Accept": "application/problem+json"})
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    problem = resp.json()
    assert problem["status"] == 404 and problem["code"] == "NOT_FOUND" and problem["instance"] == "/api/products/999999"


def test_unknown_route_is_404_envelope(api):
    resp = api.get("/api/nothing-here")
    assert resp.status_code == 404
    assert error_code(resp) == "NOT_FOUND"


def test_chaos_error_rate_gives_500(api, chaos):
    assert chaos(error_rate=1.0, error_status=500).status_code == 200
    resp = api.get("/api/products")
    assert resp.status_code == 500
    assert error_code(resp) == "INTERNAL_ERROR"


def test_chaos_down_gives_503_with_retry_after(api, chaos):
    chaos(down=True)
    resp = api.get("/api/users/12345", headers=READER)
    assert resp.status_code == 503
    assert error_code(resp) == "SERVICE_UNAVAILABLE"
    assert resp.headers["Retry-After"].isdigit()


def test_service_recovers_after_chaos(api, chaos):
    chaos(error_rate=1.0, error_status=503)
    assert api.get("/api/products/1").status_code == 503
    api.delete("/admin/chaos")
    assert api.get("/api/products/1").status_code == 200


@pytest.mark.parametrize("raw, code", [
    (b'{"title": "x",', "VALIDATION_ERROR"), (b"", "VALIDATION_ERROR"), (b"null", "VALIDATION_ERROR"),
    (b"[]", "VALIDATION_ERROR"), (b'"text"', "VALIDATION_ERROR"), (b"{'single': 'quotes'}", "VALIDATION_ERROR"),
    (b"\x00\x01\x02", "VALIDATION_ERROR"),
    (b'{"title": "\xff\xfe"}', "VALIDATION_ERROR"),  # not UTF-8: json.loads gives up, as on any bad JSON
])
def test_malformed_bodies_are_400_and_change_nothing(api, new_product, raw, code):
    product = new_product()
    resp = api.put(f"/api/products/{product['id']}", data=raw, headers={**MANAGER, "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert error_code(resp) == code
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_deeply_nested_json_is_a_client_error(api):
    raw = b'{"items": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    resp = api.post("/api/orders", data=raw, headers={**MANAGER, "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500
    assert "error" in resp.json()


def test_oversized_body_is_413(api):
    resp = api.post("/api/products", data=b'{"title": "' + b"x" * 1_100_000 + b'"}',
                    headers={**MANAGER, "Content-Type": "application/json"})
    assert resp.status_code == 413
    assert error_code(resp) == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("path", [
    "/api/orders?page=99999999999999999999", "/api/orders?limit=1000000", "/api/orders?limit=-5",
    "/api/orders?customer_id=99999999999999999999", "/api/orders/99999999999999999999",
    "/api/customers/123/orders/-4", "/api/products/%00", "/api/products?q=%F0%9F%8C%BB%00",
    "/api/weather?city=" + "К" * 65, "/api/orders?status=lost", "/api/orders?created_after=yesterday",
])
def test_hostile_queries_never_cause_a_500(api, path):
    resp = api.get(path, headers=READER)
    assert 200 <= resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.json()["error"]["code"]


def test_unicode_in_headers_and_ids_is_handled(api):
    resp = api.get("/api/users/%D0%86%D0%B2%D0%B0%D0%BD", headers=READER)
    assert resp.status_code == 400
    assert fields(resp) == ["user_id"]
