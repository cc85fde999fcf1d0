"""The User Service and the API Gateway over real HTTP: tokens, routing, limits, breakers, aggregation."""
from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import time
from pathlib import Path

import jwt
import pytest
import requests

from labservices.common import auth
from tests.microservices.conftest import CUSTOMER, Micro, wait_for


def _register(micro: Micro, **fields) -> requests.Response:
    body = {"email": f"u{secrets.token_hex(4)}@example.com", "name": "Тарас", "password": "long-enough-1",
            **fields}
    return micro.post("gateway", "/api/users", json=body)


# --- users ---------------------------------------------------------------------------------------------

def test_register_then_log_in_then_read_your_profile(micro: Micro):
    resp = _register(micro, city="Львів")
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert resp.headers["Location"].endswith(f"/api/users/{user['id']}")
    assert resp.headers["Location"].startswith(micro.url("gateway"))  # the client's address, not the service's
    assert "password" not in json.dumps(user) and user["role"] == "customer"
    token = micro.post("gateway", "/api/auth/login", json={"email": user["email"], "password": "long-enough-1"})
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    assert token.json()["token_type"] == "Bearer" and token.json()["expires_in"] == 3600
    me = micro.get("gateway", "/api/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["city"] == "Львів"


def test_registration_mistakes_are_the_clients(micro: Micro):
    taken = _register(micro, email="olena@example.com")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "EMAIL_TAKEN"
    short = _register(micro, password="short")
    assert short.status_code == 400 and short.json()["error"]["details"][0]["field"] == "password"
    sneaky = _register(micro, role="admin")  # nobody makes themselves an admin
    assert sneaky.status_code == 400


def test_a_wrong_password_and_an_unknown_email_look_the_same(micro: Micro):
    wrong = micro.post("users", "/api/auth/login", json={"email": "olena@example.com", "password": "nope"})
    unknown = micro.post("users", "/api/auth/login", json={"email": "nobody@example.com", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_only_an_admin_reads_another_users_profile(micro: Micro):
    olena = micro.token()
    admin = micro.token("admin@example.com", "admin-password")
    taras_id = micro.get("gateway", "/api/users/me", headers=micro.token("taras@example.com")).json()["id"]
    assert micro.get("gateway", f"/api/users/{taras_id}", headers=olena).status_code == 403
    assert micro.get("gateway", f"/api/users/{taras_id}", headers=admin).json()["email"] == "taras@example.com"


# --- the gateway: tokens at the edge ------------------------------------------------------------------

def test_routes_need_a_token_except_the_public_ones(micro: Micro):
    assert micro.get("gateway", "/api/products/ABC").status_code == 200  # browsing the catalog is public
    for method, path in (("GET", "/api/orders"), ("GET", "/api/sagas"), ("GET", "/api/users/me"),
                         ("PUT", "/api/products/ABC/stock"), ("GET", "/api/shipments")):
        resp = micro.call(method, "gateway", path, json={"stock": 1})
        assert resp.status_code == 401, (method, path, resp.text)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert resp.json()["error"]["code"] == "UNAUTHORIZED"
    assert micro.get("gateway", "/api/orders", headers=micro.token()).status_code == 200


def _forged(claims: dict, key: str = auth.USERS_DEFAULT_SECRET, alg: str = "HS256") -> dict[str, str]:
    now = int(time.time())
    payload = {"iss": auth.USERS_ISSUER, "aud": auth.USERS_AUDIENCE, "sub": "1", "iat": now, "exp": now + 60, **claims}
    return {"Authorization": f"Bearer {jwt.encode(payload, key, algorithm=alg)}"}


def _alg_none() -> dict[str, str]:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    now = int(time.time())
    return {"Authorization": "Bearer " + part({"alg": "none", "typ": "JWT"}) + "." + part(
        {"iss": auth.USERS_ISSUER, "aud": auth.USERS_AUDIENCE, "sub": "1", "iat": now, "exp": now + 60}) + "."}


@pytest.mark.parametrize("headers, why", [
    (_forged({}, key="a-secret-that-is-not-the-users-secret"), "signature"),
    (_forged({"exp": int(time.time()) - 10}), "expired"),
    (_forged({"aud": "somebody-else"}), "audience"),
    (_forged({"iss": "evil"}), "issuer"),
    (_alg_none(), "HS256"),
    ({"Authorization": "Bearer not.a.token"}, "malformed"),
    ({"Authorization": "Basic b2xlbmE6bGFiLXBhc3N3b3Jk"}, "Bearer"),
])
def test_the_gateway_refuses_bad_tokens(micro: Micro, headers: dict, why: str):
    resp = micro.get("gateway", "/api/orders", headers=headers)
    assert resp.status_code == 401
    assert why.lower() in resp.json()["error"]["message"].lower()


def test_who_the_caller_is_comes_from_the_token_not_from_the_client(micro: Micro, tmp_path: Path):
    """X-User-Id / X-User-Role sent by a client are dropped; the gateway sets them from the verified token."""
    from starlette.requests import Request

    from labservices.gateway.main import forward_headers

    scope = {"type": "http", "method": "GET", "path": "/api/orders", "query_string": b"", "scheme": "http",
             "client": ("10.0.0.9", 5000), "server": ("gw", 80),
             "headers": [(b"x-user-id", b"1"), (b"x-user-role", b"admin"), (b"x-request-id", b"mine"),
                         (b"authorization", b"Bearer t"), (b"host", b"gw")]}
    sent = dict(forward_headers(Request(scope), {"sub": "7", "role": "customer"}))
    assert sent["X-User-Id"] == "7" and sent["X-User-Role"] == "customer"
    assert "x-user-role" not in sent and "x-request-id" not in sent and "host" not in sent
    assert sent["X-Forwarded-For"] == "10.0.0.9" and sent["authorization"] == "Bearer t"
    anonymous = dict(forward_headers(Request(scope), None))
    assert not any(k.lower().startswith("x-user") for k in anonymous)


# --- routing, limits, breakers -------------------------------------------------------------------------

def test_the_gateway_spreads_the_catalog_over_both_copies(micro: Micro):
    served = [micro.get("gateway", "/api/products/ABC").headers["X-Upstream"] for _ in range(6)]
    assert set(served) == {"catalog", "catalog-2"}
    routes = {r["prefix"]: r for r in micro.get("gateway", "/gateway/routes").json()}
    assert [i["instance_id"] for i in routes["/api/products"]["instances"]] == ["catalog", "catalog-2"]
    assert routes["/api/products"]["token"] == "GET without" and routes["/api/orders"]["token"] == "always"


def test_an_unknown_route_is_a_404_in_the_lectures_shape(micro: Micro):
    resp = micro.get("gateway", "/api/nothing-here")
    assert resp.status_code == 404 and "/gateway/routes" in resp.json()["error"]["message"]


def test_location_headers_point_at_the_gateway(micro: Micro):
    resp = micro.post("gateway", "/api/products/ABC/reserve", json={"quantity": 1}, headers=micro.token())
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"].startswith(micro.url("gateway") + "/api/reservations/rsv_")
    released = micro.post("gateway", f"/api/reservations/{resp.json()['reservation_id']}/release",
                          headers=micro.token())
    assert released.json()["status"] == "released"


def test_the_rate_limit_answers_429_with_retry_after(micro: Micro):
    headers = micro.token()
    assert requests.put(micro.url("gateway") + "/admin/rate-limit", json={"limit": 3, "window_s": 60},
                        timeout=5).status_code == 200
    try:
        answers = [micro.get("gateway", "/api/orders", headers=headers) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[2].headers["X-RateLimit-Remaining"] == "0"
        assert int(answers[3].headers["Retry-After"]) >= 1 and answers[3].json()["error"]["code"] == "RATE_LIMITED"
        assert micro.get("gateway", "/api/orders", headers=micro.token("taras@example.com")).status_code == 200
    finally:
        requests.delete(micro.url("gateway") + "/admin/rate-limit", timeout=5)


def test_a_failing_service_opens_its_breaker_and_only_its_own(micro: Micro):
    headers = micro.token()
    micro.chaos("shipping", error_rate=1.0, error_status=503)
    answers = [micro.get("gateway", "/api/shipments", headers=headers) for _ in range(7)]
    assert [a.status_code for a in answers[:5]] == [503] * 5  # shipping's own 503s, passed on
    assert answers[5].json()["error"]["code"] == "CIRCUIT_OPEN" and int(answers[5].headers["Retry-After"]) >= 1
    calls = micro.breaker("gateway", "shipping")["calls"]
    assert calls["failure"] == 5 and calls["rejected"] == 2  # the last two never reached shipping
    assert micro.get("gateway", "/api/orders", headers=headers).status_code == 200  # orders' route is closed
    micro.chaos("shipping")
    wait_for(lambda: micro.get("gateway", "/api/shipments", headers=headers).status_code == 200, timeout=5,
             what="the half-open trial")
    breaker = micro.breaker("gateway", "shipping")
    assert breaker["state"] == "closed"
    assert [t["to"] for t in breaker["transitions"]][-3:] == ["open", "half-open", "closed"]
    assert 'circuit_breaker_state{breaker="shipping"} 0.0' in micro.get("gateway", "/metrics").text


def test_a_slow_service_times_out_at_the_gateway(micro: Micro):
    headers = micro.token()
    requests.put(micro.url("gateway") + "/admin/breakers/users", json={"fail_max": 50}, timeout=5)
    micro.chaos("users", latency_ms=6000)
    try:
        started = time.monotonic()
        resp = micro.get("gateway", "/api/users/me", headers=headers, timeout=30)
        assert resp.status_code == 504 and resp.json()["error"]["code"] == "GATEWAY_TIMEOUT"
        assert time.monotonic() - started < 12  # the route's 5 s, the next copy never tried for a GET that timed out
    finally:
        micro.chaos("users")
        requests.put(micro.url("gateway") + "/admin/breakers/users", json={"fail_max": 5}, timeout=5)


# --- aggregation and one trace --------------------------------------------------------------------------

def _sync_order(micro: Micro, headers: dict) -> dict:
    body = {"customer": CUSTOMER, "items": [{"sku": "ABC", "quantity": 1}, {"sku": "XYZ", "quantity": 2}]}
    resp = micro.post("gateway", "/api/orders/sync", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_order_details_aggregate_four_services_in_one_call(micro: Micro):
    headers = micro.token()
    order = _sync_order(micro, headers)
    details = wait_for(lambda: (d := micro.get("gateway", f"/api/orders/{order['order_id']}/details",
                                                 headers=headers).json())["shipment"]
                       and d["shipment"]["waybill"] and d, timeout=30,
                       what="the order shipped")
    assert details["order"]["order_id"] == order["order_id"] and details["unavailable"] == []
    assert details["customer"]["email"] == "olena@example.com"
    assert [p["id"] for p in details["products"]] == ["ABC", "XYZ"]
    assert details["shipment"]["waybill"]


def test_order_details_degrade_when_a_part_is_down(micro: Micro):
    headers = micro.token()
    order = _sync_order(micro, headers)
    micro.chaos("shipping", down=True)
    details = micro.get("gateway", f"/api/orders/{order['order_id']}/details", headers=headers)
    assert details.status_code == 200
    assert details.json()["unavailable"] == ["shipping"] and details.json()["shipment"] is None
    assert details.json()["customer"]["email"] == "olena@example.com"
    missing = micro.get("gateway", "/api/orders/00000000-0000-0000-0000-000000000000/details", headers=headers)
    assert missing.status_code == 404


def test_one_request_is_one_trace_through_gateway_orders_and_catalog(micro: Micro):
    headers = micro.token()
    resp = micro.post("gateway", "/api/orders/sync", headers=headers, json={
        "customer": CUSTOMER, "items": [{"sku": "ABC", "quantity": 1}]})
    trace_id = resp.headers["traceresponse"].split("-")[1]
    db = Path(micro.stack.home) / "traces.sqlite3"

    def services() -> set[str]:
        with sqlite3.connect(db) as conn:
            return {r[0] for r in conn.execute("SELECT service FROM spans WHERE trace_id = ?", (trace_id,))}
    found = wait_for(lambda: {"gateway", "orders"} <= services() and services() & {"catalog", "catalog-2"}
                     and services(), timeout=10, what="the spans of all three")
    assert {"gateway", "orders"} <= found
