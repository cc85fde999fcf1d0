"""Events: trigger any type on demand (like `stripe trigger`), list and read them."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("kind,fired", [
    ("payment_intent.created", ["payment_intent.created"]),
    ("payment_intent.succeeded", ["payment_intent.created", "payment_intent.succeeded"]),
    ("payment_intent.payment_failed", ["payment_intent.created", "payment_intent.payment_failed"]),
    ("payment_intent.canceled", ["payment_intent.created", "payment_intent.canceled"]),
    ("pull_request", ["pull_request"]),
])
def test_trigger_fires_the_event_and_those_on_the_way(pay, kind, fired):
    result = pay.trigger(kind, metadata={"order_id": "1"}) if kind != "pull_request" else pay.trigger(kind)
    assert result["event"] == kind
    assert [pay.get(f"/api/events/{e}").json()["type"] for e in result["events"]] == fired


def test_an_event_is_read_back_exactly_as_delivered(pay, endpoint, receiver):
    fired = pay.trigger("payment_intent.succeeded", amount=777)
    event = pay.get(f"/api/events/{fired['events'][-1]}").json()
    assert event["payload"]["data"]["object"]["amount"] == 777 and event["source"] == "payments"
    got = [r for r in receiver.wait_for(2) if r.event_id == event["id"]][0]
    import json

    assert json.loads(got.body) == event["payload"]


def test_list_filters_by_type_and_limits(pay):
    pay.trigger("payment_intent.canceled")
    found = pay.get("/api/events", params={"type": "payment_intent.canceled", "limit": 1}).json()["data"]
    assert len(found) == 1 and found[0]["type"] == "payment_intent.canceled"


def test_bad_event_requests(pay):
    assert pay.post("/api/triggers", json={"event": "order.created"}).status_code == 400
    assert pay.post("/api/triggers", json={"event": "pull_request", "amount": -1}).status_code == 400
    assert pay.get("/api/events", params={"type": "nope"}).status_code == 400
    assert pay.get("/api/events", params={"limit": 0}).status_code == 400
    assert pay.get("/api/events/evt_nothere").json()["error"]["code"] == "NOT_FOUND"
    assert pay.get("/api/events/12345").status_code == 400
    assert pay.post("/api/github/pulls", json={"title": ""}).status_code == 400
    assert pay.post("/api/github/pulls", json={"title": "x", "repository": "no-slash"}).status_code == 400
    assert pay.get("/api/deliveries", params={"status": "lost"}).status_code == 400
    assert pay.get("/api/deliveries/dlv_nothere").status_code == 404
