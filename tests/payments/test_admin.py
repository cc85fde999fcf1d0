"""Sandbox switches: the schedule's time scale and timeout, the flaky API (ex05), reset."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.payments.conftest import TIME_SCALE


def test_delivery_settings_change_and_restore(pay):
    assert pay.get("/admin/delivery").json()["time_scale"] == TIME_SCALE
    changed = pay.put("/admin/delivery", json={"time_scale": 0.01, "timeout_s": 3}).json()
    assert changed["schedule_s"] == [0.6, 3.0, 9.0, 36.0] and changed["max_attempts"] == 5
    assert pay.delete("/admin/delivery").status_code == 204
    assert pay.get("/admin/delivery").json()["time_scale"] == TIME_SCALE


@pytest.mark.parametrize("body", [{"time_scale": 0, "timeout_s": 1}, {"time_scale": 2, "timeout_s": 1},
                                  {"time_scale": 0.1, "timeout_s": 60}, {"time_scale": 0.1}])
def test_bad_delivery_settings_are_400(pay, body):
    assert pay.put("/admin/delivery", json=body).status_code == 400


def intent(pay, key=None, order="1"):
    headers = {"Idempotency-Key": key} if key else {}
    return pay.post("/api/payment_intents", json={"amount": 100, "metadata": {"order_id": order}}, headers=headers,
                    timeout=10)


def test_flaky_serves_its_failures_in_order_and_keeps_a_journal(pay):
    pay.put("/admin/flaky", json={"failures": ["503", "429", "500", "502"], "retry_after_s": 2})
    try:
        statuses = [intent(pay) for _ in range(5)]
        assert [r.status_code for r in statuses] == [503, 429, 500, 502, 201]
        assert statuses[1].headers["Retry-After"] == "2" and "Retry-After" not in statuses[0].headers
        state = pay.get("/admin/flaky").json()
        assert state["failures"] == []
        assert [c["outcome"] for c in state["journal"]] == ["503", "429", "500", "502", "ok"]
        assert [c["intent_id"] is None for c in state["journal"]] == [True] * 4 + [False]
    finally:
        pay.delete("/admin/flaky")


def test_a_500_after_commit_created_the_payment_and_only_the_key_saves_a_retry(pay):
    order = str(uuid.uuid4().int % 10**9)
    key = str(uuid.uuid4())
    pay.put("/admin/flaky", json={"failures": ["500_after_commit"]})
    try:
        lost = intent(pay, key, order)
        assert lost.status_code == 500
        retry = intent(pay, key, order)
        assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
        assert len(pay.get("/api/payment_intents", params={"order_id": order}).json()["data"]) == 1
        journal = pay.get("/admin/flaky").json()["journal"]
        assert [(c["outcome"], c["idempotency_key"]) for c in journal] == [("500_after_commit", key), ("replayed", key)]
        assert journal[0]["intent_id"] == journal[1]["intent_id"] == retry.json()["id"]
    finally:
        pay.delete("/admin/flaky")


def test_timeout_holds_the_answer_after_creating_the_payment(pay):
    order = str(uuid.uuid4().int % 10**9)
    pay.put("/admin/flaky", json={"failures": ["timeout"], "hold_s": 0.5})
    try:
        started = time.monotonic()
        resp = intent(pay, order=order)
        assert resp.status_code == 201 and time.monotonic() - started >= 0.5
    finally:
        pay.delete("/admin/flaky")


@pytest.mark.parametrize("body", [{"failures": ["418"]}, {"failures": ["503"] * 21}, {"hold_s": 11},
                                  {"retry_after_s": 0}, {"surprise": 1}])
def test_bad_flaky_settings_are_400(pay, body):
    assert pay.put("/admin/flaky", json=body).status_code == 400


def test_reset_empties_the_service(tmp_path):
    from tests.conftest import running_service
    from tests.payments.conftest import Pay

    with running_service("payments", tmp_path) as address:
        pay = Pay(address)
        pay.endpoint("http://127.0.0.1:9/x")
        pay.trigger()
        pay.put("/admin/delivery", json={"time_scale": 0.5, "timeout_s": 1})
        assert pay.post("/admin/reset").json() == {"status": "reset", "service": "payments"}
        assert pay.get("/api/events").json()["data"] == []
        assert pay.get("/api/webhook_endpoints").json()["data"] == []
        assert pay.get("/admin/delivery").json()["time_scale"] == pytest.approx(1 / 60)
