"""Orders over HTTP: event sourcing (the stream, any version), idempotency, the read model, bad input."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.events.conftest import CUSTOMER, Flow


def test_the_state_is_the_fold_of_the_stream_at_any_version(flow: Flow, shipped_order: dict):
    order_id = shipped_order["order_id"]
    stream = flow.get("orders", f"/api/orders/{order_id}/events").json()
    assert [e["version"] for e in stream] == list(range(1, len(stream) + 1))
    assert stream[0]["data"]["items"][0]["sku"] == "ABC"
    first = flow.get("orders", f"/api/orders/{order_id}", params={"version": 1}).json()
    assert (first["version"], first["status"], first["waybill"]) == (1, "pending", None)
    last = flow.get("orders", f"/api/orders/{order_id}", params={"version": len(stream)}).json()
    assert last["status"] == "shipped" and last == shipped_order
    too_far = flow.get("orders", f"/api/orders/{order_id}", params={"version": len(stream) + 1})
    assert too_far.status_code == 404 and too_far.json()["error"]["details"][0]["field"] == "version"


def test_an_idempotency_key_places_the_order_once(flow: Flow):
    key = str(uuid.uuid4())
    body = {"customer": CUSTOMER, "items": [{"sku": "XYZ", "quantity": 1}]}
    first = flow.post("orders", "/api/orders", json=body, headers={"Idempotency-Key": key})
    again = flow.post("orders", "/api/orders", json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order_id"] == first.json()["order_id"] and again.headers["Location"] == first.headers["Location"]
    other = flow.post("orders", "/api/orders", json={**body, "items": [{"sku": "ABC", "quantity": 3}]},
                      headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_list_is_a_read_model_with_pagination_and_a_status_filter(flow: Flow, shipped_order: dict):
    page = flow.get("orders", "/api/orders", params={"status": "shipped", "limit": 2})
    assert page.status_code == 200 and 'rel="first"' in page.headers["Link"]
    body = page.json()
    assert all(o["status"] == "shipped" for o in body["data"]) and body["pagination"]["per_page"] == 2


def test_a_shipped_order_cannot_be_cancelled(flow: Flow, shipped_order: dict):
    resp = flow.post("orders", f"/api/orders/{shipped_order['order_id']}/cancel", json={"reason": "передумав"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "ORDER_NOT_CANCELLABLE"


def test_an_order_cancelled_before_shipping_releases_stock_and_refunds(flow: Flow):
    flow.stack.stop("carrier")  # shipping cannot ship: the order waits
    try:
        order = flow.place(items=[{"sku": "BK-001", "quantity": 1}])
        flow.order_when(order["order_id"], lambda o: o["status"] == "awaiting_shipment")
        cancelled = flow.post("orders", f"/api/orders/{order['order_id']}/cancel", json={"reason": "передумав"})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        from tests.events.conftest import wait_for

        wait_for(lambda: flow.get("billing", f"/api/payments/{order['order_id']}").json()["status"] == "refunded",
                 what="the refund")
        wait_for(lambda: flow.get("inventory", f"/api/reservations/{order['order_id']}").json()["status"] == "released",
                 what="the release")
    finally:
        flow.stack.start("carrier")


@pytest.mark.parametrize("body, field", [
    ({"customer": CUSTOMER, "items": [{"sku": "NOPE", "quantity": 1}]}, "items[0].sku"),
    ({"customer": CUSTOMER, "items": []}, "items"),
    ({"customer": {"name": "x", "email": "not-an-email"}, "items": [{"sku": "ABC", "quantity": 1}]}, "customer.email"),
    ({"customer": CUSTOMER, "items": [{"sku": "ABC", "quantity": 0}]}, "items[0].quantity"),
    ({"customer": CUSTOMER, "items": [{"sku": "ABC", "quantity": 1}], "payment_method": "cash"}, "payment_method"),
])
def test_a_bad_order_is_400_naming_the_field(flow: Flow, body: dict, field: str):
    resp = flow.post("orders", "/api/orders", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


def test_unknown_and_malformed_order_ids(flow: Flow):
    assert flow.get("orders", f"/api/orders/{uuid.uuid4()}").status_code == 404
    assert flow.get("orders", "/api/orders/not-a-uuid").status_code == 400
    assert requests.get(flow.url("orders") + f"/api/orders/{uuid.uuid4()}/events").status_code == 404
