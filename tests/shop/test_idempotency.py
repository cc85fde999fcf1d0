"""Idempotency-Key on POST /api/orders: a retry returns the first answer and creates nothing."""
from __future__ import annotations

import uuid

from tests.shop.shopapi import LECTURE_ORDER, MANAGER, READER, error_code


def _count(api) -> int:
    return int(api.get("/api/orders", params={"limit": 1}, headers=READER).headers["X-Total-Count"])


def test_replay_returns_the_first_response_and_creates_nothing(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/api/orders", json=LECTURE_ORDER, headers={**MANAGER, **key})
    after_first = _count(api)
    again = api.post("/api/orders", data=' {"items": [{"quantity": 2, "product_id": "ABC"}, {"product_id": "XYZ", '
                     '"quantity": 1}], "customer_id": "67890"}', headers={**MANAGER, **key, "Content-Type": "application/json"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(api) == after_first


def test_same_key_with_another_body_is_422(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    api.post("/api/orders", json=LECTURE_ORDER, headers={**MANAGER, **key})
    before = _count(api)
    resp = api.post("/api/orders", json={**LECTURE_ORDER, "customer_id": 123}, headers={**MANAGER, **key})
    assert resp.status_code == 422
    assert error_code(resp) == "IDEMPOTENCY_KEY_REUSED"
    assert _count(api) == before


def test_keys_are_scoped_per_client(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    mine = api.post("/api/orders", json=LECTURE_ORDER, headers={**MANAGER, **key})
    theirs = api.post("/api/orders", json=LECTURE_ORDER, headers={"Authorization": f"Bearer {api.token()}", **key})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_without_a_key_every_post_creates(api):
    first = api.post("/api/orders", json=LECTURE_ORDER, headers=MANAGER)
    second = api.post("/api/orders", json=LECTURE_ORDER, headers=MANAGER)
    assert first.json()["id"] != second.json()["id"]


def test_a_failed_request_is_not_remembered(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    bad = api.post("/api/orders", json={"customer_id": 67890, "items": [{"product_id": "NOPE", "quantity": 1}]},
                   headers={**MANAGER, **key})
    assert bad.status_code == 400
    fixed = api.post("/api/orders", json={"customer_id": 67890, "items": [{"product_id": "ABC", "quantity": 1}]},
                     headers={**MANAGER, **key})
    assert fixed.status_code == 201


def test_the_replay_survives_a_later_change_of_the_order(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/api/orders", json=LECTURE_ORDER, headers={**MANAGER, **key})
    api.patch(f"/api/orders/{first.json()['id']}", json={"status": "paid"}, headers=MANAGER)
    again = api.post("/api/orders", json=LECTURE_ORDER, headers={**MANAGER, **key})
    assert again.json() == first.json() and again.json()["status"] == "pending"


def test_customer_orders_take_keys_too(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"items": [{"product_id": "XYZ", "quantity": 1}]}
    first = api.post("/api/customers/123/orders", json=body, headers={**MANAGER, **key})
    again = api.post("/api/customers/123/orders", json=body, headers={**MANAGER, **key})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()


def test_overlong_key_is_400(api):
    resp = api.post("/api/orders", json=LECTURE_ORDER, headers={**MANAGER, "Idempotency-Key": "k" * 256})
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
