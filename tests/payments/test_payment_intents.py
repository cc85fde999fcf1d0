"""Payment intents: create (201 + Location, Idempotency-Key), confirm with test cards, cancel, bad input."""
from __future__ import annotations

import uuid

import pytest


def create(pay, **body) -> dict:
    resp = pay.post("/api/payment_intents", json={"amount": 5000, "currency": "uah", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_returns_201_location_and_the_lectures_object(pay):
    resp = pay.post("/api/payment_intents", json={"amount": 5000, "currency": "uah", "customer": "cus_xyz789",
                                                  "metadata": {"order_id": "6735"}})
    assert resp.status_code == 201
    intent = resp.json()
    assert resp.headers["Location"] == f"/api/payment_intents/{intent['id']}"
    assert intent["id"].startswith("pi_") and intent["object"] == "payment_intent"
    assert (intent["amount"], intent["currency"], intent["customer"]) == (5000, "uah", "cus_xyz789")
    assert intent["status"] == "requires_payment_method" and intent["metadata"] == {"order_id": "6735"}
    assert pay.get(resp.headers["Location"]).json() == intent
    [event] = pay.get("/api/events", params={"object_id": intent["id"]}).json()["data"]
    assert event["type"] == "payment_intent.created" and event["payload"]["data"]["object"] == intent


def test_confirm_with_visa_succeeds_and_emits_succeeded(pay):
    intent = create(pay)
    resp = pay.post(f"/api/payment_intents/{intent['id']}/confirm", json={"payment_method": "pm_card_visa"})
    assert resp.status_code == 200 and resp.json()["status"] == "succeeded"
    types = [e["type"] for e in pay.get("/api/events", params={"object_id": intent["id"]}).json()["data"]]
    assert types == ["payment_intent.succeeded", "payment_intent.created"]


@pytest.mark.parametrize("card,decline", [("pm_card_chargeDeclined", "generic_decline"),
                                          ("4000000000009995", "insufficient_funds")])
def test_a_declined_card_fails_and_the_customer_may_pay_again(pay, card, decline):
    intent = create(pay)
    failed = pay.post(f"/api/payment_intents/{intent['id']}/confirm", json={"payment_method": card}).json()
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "card_declined"
    assert failed["last_payment_error"]["decline_code"] == decline
    paid = pay.post(f"/api/payment_intents/{intent['id']}/confirm", json={"payment_method": "4242424242424242"}).json()
    assert paid["status"] == "succeeded" and paid["last_payment_error"] is None
    types = [e["type"] for e in pay.get("/api/events", params={"object_id": intent["id"]}).json()["data"]]
    assert types == ["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.created"]


def test_the_fail_flag_declines_even_a_good_card(pay):
    intent = create(pay, payment_method="pm_card_visa")
    assert intent["status"] == "requires_confirmation"
    resp = pay.post(f"/api/payment_intents/{intent['id']}/confirm", json={"fail": True})
    assert resp.json()["status"] == "requires_payment_method"


def test_create_and_confirm_at_once(pay):
    intent = create(pay, payment_method="pm_card_visa", confirm=True)
    assert intent["status"] == "succeeded"


def test_cancel_then_confirm_or_cancel_again_is_409(pay):
    intent = create(pay)
    assert pay.post(f"/api/payment_intents/{intent['id']}/cancel").json()["status"] == "canceled"
    for action in ("cancel", "confirm"):
        resp = pay.post(f"/api/payment_intents/{intent['id']}/{action}", json={"payment_method": "pm_card_visa"})
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "INVALID_STATE"


def test_a_succeeded_intent_cannot_be_cancelled(pay):
    intent = create(pay, payment_method="pm_card_visa", confirm=True)
    assert pay.post(f"/api/payment_intents/{intent['id']}/cancel").status_code == 409


def test_list_finds_intents_by_order_and_status(pay):
    order = str(uuid.uuid4().int % 10**9)
    first, second = create(pay, metadata={"order_id": order}), create(pay, metadata={"order_id": order})
    create(pay, metadata={"order_id": order + "0"})
    found = pay.get("/api/payment_intents", params={"order_id": order}).json()["data"]
    assert [i["id"] for i in found] == [second["id"], first["id"]]
    assert all(i["status"] == "succeeded" for i in
               pay.get("/api/payment_intents", params={"status": "succeeded"}).json()["data"])


def test_idempotency_key_replays_the_first_answer_and_creates_nothing(pay):
    order = str(uuid.uuid4().int % 10**9)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount": 1200, "metadata": {"order_id": order}}
    first = pay.post("/api/payment_intents", json=body, headers=key)
    again = pay.post("/api/payment_intents", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(pay.get("/api/payment_intents", params={"order_id": order}).json()["data"]) == 1
    other = pay.post("/api/payment_intents", json={**body, "amount": 1300}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize("body,field", [
    ({"amount": 0}, "amount"),
    ({"amount": 10**9}, "amount"),
    ({"amount": "lots"}, "amount"),
    ({"amount": 100, "currency": "btc"}, "currency"),
    ({"amount": 100, "customer": "xyz"}, "customer"),
    ({"amount": 100, "metadata": {"bad key": "x"}}, "metadata"),
    ({"amount": 100, "metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
    ({"amount": 100, "metadata": {"order_id": 6735}}, "metadata.order_id"),
    ({"amount": 100, "surprise": True}, "surprise"),
    ({}, "amount"),
])
def test_bad_input_is_400_validation_error_naming_the_field(pay, body, field):
    resp = pay.post("/api/payment_intents", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


def test_bad_json_an_unknown_card_and_bad_ids(pay):
    resp = pay.post("/api/payment_intents", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR"
    intent = create(pay)
    resp = pay.post(f"/api/payment_intents/{intent['id']}/confirm", json={"payment_method": "pm_card_gold"})
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "payment_method"
    resp = pay.post(f"/api/payment_intents/{intent['id']}/confirm", json={})
    assert resp.status_code == 400
    assert pay.get("/api/payment_intents/not-an-id").status_code == 400
    assert pay.get("/api/payment_intents/pi_doesnotexist").json()["error"]["code"] == "NOT_FOUND"
    assert pay.get("/api/payment_intents", params={"limit": 101}).status_code == 400
