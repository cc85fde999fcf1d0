"""Orders' synchronous path (the lecture's create_order) over real HTTP: timeouts, retries, the breaker, fallback."""
from __future__ import annotations

import concurrent.futures
import time
import uuid

import requests

from tests.microservices.conftest import Micro, wait_for


def _held(micro: Micro, order_id: str) -> list[dict]:
    return micro.get("catalog", "/api/reservations", params={"order_id": order_id}).json()


def test_a_synchronous_order_reserves_at_the_catalog_before_it_exists(micro: Micro):
    before = micro.stock("XYZ")["stock"]
    resp = micro.place_sync([{"sku": "XYZ", "quantity": 2}])
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["stock"] == "reserved" and order["stock_by"] == "catalog"
    assert order["items"][0]["unit_price"] == micro.stock("XYZ")["price"]  # priced by the catalog
    assert resp.headers["Server-Timing"].startswith("catalog;")
    assert micro.stock("XYZ")["stock"] == before - 2
    [reservation] = _held(micro, order["order_id"])
    assert reservation["status"] == "held" and reservation["quantity"] == 2


def test_the_synchronous_order_then_travels_the_bus_and_its_stock_leaves_with_the_parcel(micro: Micro):
    order = micro.place_sync([{"sku": "ABC", "quantity": 1}]).json()
    shipped = wait_for(lambda: (o := micro.get("orders", f"/api/orders/{order['order_id']}").json())["status"]
                       == "shipped" and o, timeout=30, what="the order shipped")
    assert shipped["payment"] == "paid"
    wait_for(lambda: _held(micro, order["order_id"])[0]["status"] == "committed", timeout=10,
             what="the catalog committing the stock")


def test_a_declined_card_cancels_the_order_and_the_catalog_gives_the_stock_back(micro: Micro):
    before = micro.stock("ABC")["stock"]
    body = {"customer": {"name": "Олена", "email": "o@example.com"}, "items": [{"sku": "ABC", "quantity": 3}],
            "payment_method": "pm_card_chargeDeclined"}
    order = micro.post("orders", "/api/orders/sync", json=body).json()
    wait_for(lambda: micro.get("orders", f"/api/orders/{order['order_id']}").json()["status"] == "cancelled",
             timeout=30, what="the order cancelled")
    wait_for(lambda: _held(micro, order["order_id"])[0]["status"] == "released", timeout=10, what="the release")
    assert micro.stock("ABC")["stock"] == before


def test_not_enough_stock_is_a_409_and_nothing_stays_held(micro: Micro):
    micro.set_stock("BK-002", 4)
    resp = micro.place_sync([{"sku": "XYZ", "quantity": 1}, {"sku": "BK-002", "quantity": 5}])
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "INSUFFICIENT_STOCK"
    assert resp.json()["error"]["details"][0]["field"] == "items[1].quantity"
    assert micro.get("catalog", "/api/reservations", params={"status": "held", "limit": 100}).json() == [] or all(
        r["product_id"] != "XYZ" or r["status"] != "held" or r["order_id"] for r in
        micro.get("catalog", "/api/reservations", params={"status": "held", "limit": 100}).json())
    assert micro.stock("BK-002")["stock"] == 4


def test_the_first_line_reserved_is_released_when_a_later_one_is_short(micro: Micro):
    micro.set_stock("EL-002", 8)
    before = micro.stock("XYZ")["stock"]
    resp = micro.place_sync([{"sku": "XYZ", "quantity": 1}, {"sku": "EL-002", "quantity": 9}])
    assert resp.status_code == 409
    assert micro.stock("XYZ")["stock"] == before  # XYZ was held, then given back


def test_an_unknown_product_is_the_clients_mistake(micro: Micro):
    resp = micro.place_sync([{"sku": "NOPE-1", "quantity": 1}])
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "items[0].sku"


def test_the_same_idempotency_key_places_and_reserves_once(micro: Micro):
    key = str(uuid.uuid4())
    before = micro.stock("EL-008")["stock"]
    first = micro.place_sync([{"sku": "EL-008", "quantity": 2}], headers={"Idempotency-Key": key})
    again = micro.place_sync([{"sku": "EL-008", "quantity": 2}], headers={"Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["order_id"] == again.json()["order_id"]
    assert micro.stock("EL-008")["stock"] == before - 2


def test_a_slow_catalog_opens_the_breaker_and_orders_fall_back_to_the_bus(micro: Micro):
    """Catalog 5 s slow, calls time out at 2 s: retries, then the breaker opens and orders stop waiting."""
    before = micro.stock("EL-007")["stock"]  # read first: a slow catalog's /health soon drops it from the registry
    micro.chaos("catalog", latency_ms=5000)
    micro.chaos("catalog-2", latency_ms=5000)
    timings, answers = [], []
    for _ in range(4):
        started = time.monotonic()
        resp = micro.place_sync([{"sku": "EL-007", "quantity": 1}])
        timings.append(time.monotonic() - started)
        answers.append(resp)
    assert [a.status_code for a in answers] == [202] * 4  # every order taken: the fallback
    assert answers[-1].headers["X-Fallback"] == "circuit-open"
    assert timings[-1] < 0.5 < timings[0]  # the first waited out its timeouts; the last did not wait at all
    breaker = micro.breaker("orders", "catalog")
    assert breaker["state"] == "open" and breaker["calls"]["rejected"] >= 1
    assert "circuit_breaker_state" in micro.get("orders", "/metrics").text
    for answer in answers:
        assert answer.json()["stock"] == "pending" and answer.json()["stock_by"] == "catalog"
    micro.chaos("catalog")
    micro.chaos("catalog-2")
    for answer in answers:  # the catalog reserves them from the bus once it is fast again
        wait_for(lambda a=answer: micro.get("orders", f"/api/orders/{a.json()['order_id']}").json()["stock"]
                 == "reserved", timeout=30, what="the reservation from the bus")
    assert micro.stock("EL-007")["stock"] <= before - 4 + 4  # shipped ones may have committed; none counted twice
    assert len({r["reservation_id"] for a in answers for r in _held(micro, a.json()["order_id"])}) == 4


def test_the_breaker_closes_again_through_a_half_open_trial(micro: Micro):
    micro.chaos("catalog", error_rate=1.0, error_status=503)
    micro.chaos("catalog-2", error_rate=1.0, error_status=503)
    while micro.breaker("orders", "catalog")["state"] != "open":
        assert micro.place_sync().status_code == 202
    micro.chaos("catalog")
    micro.chaos("catalog-2")
    assert micro.place_sync().headers.get("X-Fallback") == "circuit-open"  # still open: nobody asked yet
    time.sleep(2.1)  # ORDERS_BREAKER_RESET_S in these tests
    resp = micro.place_sync()
    assert resp.status_code == 201  # the trial call went through and closed the circuit
    assert [t["to"] for t in micro.breaker("orders", "catalog")["transitions"]][-3:] == ["open", "half-open", "closed"]


def test_without_the_breaker_every_caller_waits_out_the_slow_catalog(micro: Micro):
    """The cascade: with the breaker switched off, callers pile up behind a slow dependency."""
    requests.put(micro.url("orders") + "/admin/breakers/catalog", json={"enabled": False}, timeout=5)
    micro.chaos("catalog", latency_ms=5000)
    micro.chaos("catalog-2", latency_ms=5000)
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            started = time.monotonic()
            futures = [pool.submit(micro.place_sync) for _ in range(6)]
            time.sleep(1.0)
            in_flight = [line for line in micro.get("orders", "/metrics").text.splitlines()
                         if line.startswith("http_requests_in_progress")]
            answers = [f.result() for f in futures]
        assert float(in_flight[0].split()[-1]) >= 6  # all six still waiting after a second
        assert all(a.status_code == 202 for a in answers)
        assert time.monotonic() - started > 2  # and each waited for its timeouts
        assert micro.breaker("orders", "catalog")["state"] == "disabled"
    finally:
        requests.put(micro.url("orders") + "/admin/breakers/catalog", json={"enabled": True}, timeout=5)
