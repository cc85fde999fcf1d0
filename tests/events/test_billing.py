"""Billing's webhook: only a delivery signed by payments counts, and each counts once."""
from __future__ import annotations

import time

from tests.events.conftest import Flow


def test_an_unsigned_or_forged_delivery_is_401(flow: Flow):
    body = b'{"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {"metadata": {"order_id": "1"}}}}'
    unsigned = flow.post("billing", "/webhooks/payments", data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "INVALID_SIGNATURE"
    forged = flow.post("billing", "/webhooks/payments", data=body, headers={
        "Content-Type": "application/json", "webhook-id": "evt_x", "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl"})
    assert forged.status_code == 401


def test_a_redelivered_webhook_publishes_nothing_twice(flow: Flow, shipped_order: dict):
    payment = flow.get("billing", f"/api/payments/{shipped_order['order_id']}").json()
    events = flow.get("payments", "/api/events", params={"object_id": payment["payment_intent"],
                                                          "type": "payment_intent.succeeded"}).json()["data"]
    before = flow.get("billing", "/admin/bus").json()["outbox"]["total"]
    assert flow.post("payments", f"/api/events/{events[0]['id']}/redeliver").status_code == 202
    time.sleep(1.0)
    assert flow.get("billing", "/admin/bus").json()["outbox"]["total"] == before
