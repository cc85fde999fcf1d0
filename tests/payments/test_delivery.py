"""At-least-once delivery: 2xx within the timeout is success; anything else is retried on the schedule."""
from __future__ import annotations

import json
import time

import pytest

from tests.payments.conftest import TIME_SCALE
from tests.payments.receiver import Receiver

SCHEDULE = [60 * TIME_SCALE, 300 * TIME_SCALE, 900 * TIME_SCALE, 3600 * TIME_SCALE]


def first_event(pay, kind: str = "payment_intent.created", **extra) -> str:
    return pay.trigger(kind, **extra)["events"][0]


def test_a_healthy_receiver_gets_the_lectures_event_at_once_and_the_delivery_succeeds(pay, endpoint, receiver):
    started = time.time()
    fired = pay.trigger("payment_intent.succeeded", amount=5000)
    got = next(r for r in receiver.wait_for(2, timeout=5) if r.event_id == fired["events"][1])
    assert got.at - started < 1.0
    body = json.loads(got.body)
    assert set(body) == {"id", "type", "data", "created"}
    assert body["id"] == fired["events"][1] and body["type"] == "payment_intent.succeeded"
    assert body["data"]["object"]["amount"] == 5000 and body["data"]["object"]["status"] == "succeeded"
    assert got.headers["content-type"] == "application/json"
    d = pay.delivery_when(lambda d: d["status"] == "succeeded", event_id=body["id"])
    assert d["attempts_made"] == 1 and d["last_status_code"] == 200 and d["next_attempt_at"] is None
    assert d["attempts"][0]["response_body"] == '{"status": 200}' and d["attempts"][0]["duration_ms"] > 0


def test_a_failing_receiver_is_retried_on_the_schedule_then_the_delivery_fails(pay, endpoint, receiver):
    receiver.answer(then=500)
    event_id = first_event(pay)
    d = pay.delivery_when(lambda d: d["status"] == "failed", timeout=15, event_id=event_id)
    got = [r for r in receiver.received if r.event_id == event_id]
    assert len(got) == d["attempts_made"] == 5
    assert [a["status_code"] for a in d["attempts"]] == [500] * 5
    assert d["next_attempt_at"] is None
    gaps = [b.at - a.at for a, b in zip(got, got[1:])]
    for gap, wanted in zip(gaps, SCHEDULE):
        assert wanted <= gap < wanted + 0.5, (gaps, SCHEDULE)
    assert {r.headers["webhook-id"] for r in got} == {event_id}
    assert len({r.body for r in got}) == 1  # the same bytes every time


def test_a_receiver_that_recovers_gets_the_same_event_and_the_delivery_succeeds(pay, endpoint, receiver):
    receiver.answer(503, 500)
    event_id = first_event(pay)
    d = pay.delivery_when(lambda d: d["status"] == "succeeded", event_id=event_id)
    assert [a["status_code"] for a in d["attempts"]] == [503, 500, 200]
    assert [a["succeeded"] for a in d["attempts"]] == [False, False, True]
    got = receiver.wait_for(3)
    assert [r.event_id for r in got] == [event_id] * 3
    assert all(a["late_ms"] < 500 for a in d["attempts"])


def test_pending_delivery_shows_when_it_will_be_tried_next(pay, receiver):
    hook = pay.endpoint(receiver.url, ["payment_intent.created"])
    pay.put("/admin/delivery", json={"time_scale": 1.0, "timeout_s": 2})
    try:
        receiver.answer(then=500)
        event_id = first_event(pay)
        d = pay.delivery_when(lambda d: d["attempts_made"] == 1, event_id=event_id)
        assert d["status"] == "pending" and d["next_attempt_at"] > d["attempts"][0]["started_at"]
        assert pay.get("/admin/delivery").json()["schedule_s"] == [60.0, 300.0, 900.0, 3600.0]
    finally:
        pay.delete("/admin/delivery")
        pay.delete(f"/api/webhook_endpoints/{hook['id']}")


def test_an_answer_slower_than_the_timeout_is_a_failed_attempt(pay, receiver):
    hook = pay.endpoint(receiver.url, ["payment_intent.created"])
    pay.put("/admin/delivery", json={"time_scale": 1.0, "timeout_s": 0.3})
    receiver.delay_s = 1.0
    try:
        event_id = first_event(pay)
        d = pay.delivery_when(lambda d: d["attempts_made"] == 1, event_id=event_id)
        attempt = d["attempts"][0]
        assert attempt["status_code"] is None and attempt["error"].startswith("timeout")
        assert 250 <= attempt["duration_ms"] < 1000 and d["status"] == "pending"
    finally:
        receiver.delay_s = 0
        pay.delete("/admin/delivery")
        pay.delete(f"/api/webhook_endpoints/{hook['id']}")


@pytest.mark.parametrize("status", [301, 400, 404])
def test_a_redirect_or_client_error_is_a_failure_too(pay, endpoint, receiver, status):
    receiver.answer(status)
    event_id = first_event(pay)
    d = pay.delivery_when(lambda d: d["status"] == "succeeded", event_id=event_id)
    assert [a["status_code"] for a in d["attempts"]] == [status, 200]


def test_a_receiver_that_is_down_counts_as_failures_until_it_is_back(pay):
    receiver = Receiver().start()
    url = receiver.url
    receiver.stop()
    hook = pay.endpoint(url, ["payment_intent.created"])
    event_id = first_event(pay)
    d = pay.delivery_when(lambda d: d["attempts_made"] >= 1, event_id=event_id)
    assert d["attempts"][0]["status_code"] is None and "Connect" in d["attempts"][0]["error"]
    pay.delete(f"/api/webhook_endpoints/{hook['id']}")


def test_only_subscribed_and_enabled_endpoints_get_an_event(pay, receiver):
    succeeded = pay.endpoint(receiver.url, ["payment_intent.succeeded"])
    other = Receiver().start()
    disabled = pay.endpoint(other.url, ["*"])
    assert pay.patch(f"/api/webhook_endpoints/{disabled['id']}", json={"status": "disabled"}).json()["status"] == "disabled"
    try:
        fired = pay.trigger("payment_intent.succeeded")
        got = receiver.wait_for(1)
        pay.delivery_when(lambda d: d["status"] == "succeeded", endpoint_id=succeeded["id"])
        assert [json.loads(r.body)["type"] for r in got] == ["payment_intent.succeeded"]
        assert pay.deliveries(endpoint_id=disabled["id"]) == [] and other.received == []
        assert len(pay.deliveries(event_id=fired["events"][0])) == 0
    finally:
        other.stop()
        for hook in (succeeded, disabled):
            pay.delete(f"/api/webhook_endpoints/{hook['id']}")


def test_a_failed_delivery_is_redelivered_by_hand_with_one_attempt(pay, endpoint, receiver):
    receiver.answer(then=500)
    event_id = first_event(pay)
    d = pay.delivery_when(lambda d: d["status"] == "failed", timeout=15, event_id=event_id)
    receiver.answer(then=200)
    resp = pay.post(f"/api/deliveries/{d['id']}/redeliver")
    assert resp.status_code == 202 and resp.json()["status"] == "pending"
    d = pay.delivery_when(lambda d: d["status"] == "succeeded", event_id=event_id)
    assert d["attempts_made"] == 6 and d["mode"] == "manual" and d["attempts"][-1]["manual"]
    assert receiver.received[-1].event_id == event_id


def test_a_manual_redelivery_that_fails_is_failed_again_without_a_schedule(pay, endpoint, receiver):
    event_id = first_event(pay)
    d = pay.delivery_when(lambda d: d["status"] == "succeeded", event_id=event_id)
    receiver.answer(then=500)
    pay.post(f"/api/deliveries/{d['id']}/redeliver")
    d = pay.delivery_when(lambda d: d["attempts_made"] == 2 and d["status"] != "pending", event_id=event_id)
    assert d["status"] == "failed" and d["next_attempt_at"] is None


def test_any_event_is_resent_to_any_endpoint_with_the_same_id(pay, endpoint, receiver):
    event_id = first_event(pay)
    pay.delivery_when(lambda d: d["status"] == "succeeded", event_id=event_id)
    other = Receiver().start()
    later = pay.endpoint(other.url, ["pull_request"])
    try:
        resp = pay.post(f"/api/events/{event_id}/redeliver", json={"endpoint_id": later["id"]})
        assert resp.status_code == 202 and resp.json()["data"][0]["endpoint_id"] == later["id"]
        got = other.wait_for(1)[0]
        assert got.event_id == event_id
        resp = pay.post(f"/api/events/{event_id}/redeliver")  # every endpoint it went to
        assert {d["endpoint_id"] for d in resp.json()["data"]} == {endpoint["id"], later["id"]}
        receiver.wait_for(2)
        other.wait_for(2)
    finally:
        other.stop()
        pay.delete(f"/api/webhook_endpoints/{later['id']}")


def test_a_redelivery_asked_while_an_attempt_is_in_flight_is_not_lost(pay, endpoint, receiver):
    """The attempt in flight finishes, then the one asked for meanwhile goes out: two requests, not one."""
    receiver.delay_s = 1.0  # each answer takes a second: time to ask again meanwhile
    event_id = first_event(pay)
    receiver.wait_for(1)  # the first attempt has arrived and is waiting for its answer
    resp = pay.post(f"/api/events/{event_id}/redeliver")
    assert resp.status_code == 202
    got = receiver.wait_for(2, timeout=15)
    assert [r.event_id for r in got[:2]] == [event_id, event_id]
    d = pay.delivery_when(lambda d: d["status"] == "succeeded" and d["attempts_made"] == 2, event_id=event_id)
    assert d["next_attempt_at"] is None


def test_redelivery_of_unknown_things_is_404_and_of_an_unsent_event_asks_for_an_endpoint(pay):
    assert pay.post("/api/deliveries/dlv_nothere/redeliver").json()["error"]["code"] == "NOT_FOUND"
    assert pay.post("/api/events/evt_nothere/redeliver").status_code == 404
    event_id = first_event(pay, "pull_request")
    resp = pay.post(f"/api/events/{event_id}/redeliver")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "NO_ENDPOINT"
    resp = pay.post(f"/api/events/{event_id}/redeliver", json={"endpoint_id": "we_nothere"})
    assert resp.status_code == 404


def test_deleting_an_endpoint_drops_its_pending_deliveries(pay, receiver):
    hook = pay.endpoint(receiver.url, ["payment_intent.created"])
    receiver.answer(then=500)
    pay.put("/admin/delivery", json={"time_scale": 1.0, "timeout_s": 2})
    try:
        event_id = first_event(pay)
        pay.delivery_when(lambda d: d["attempts_made"] == 1, event_id=event_id)
        assert pay.delete(f"/api/webhook_endpoints/{hook['id']}").status_code == 204
        assert pay.deliveries(event_id=event_id) == []
    finally:
        pay.delete("/admin/delivery")


def test_metrics_count_attempts_by_outcome(pay, endpoint, receiver):
    first_event(pay)
    receiver.wait_for(1)
    pay.delivery_when(lambda d: d["status"] == "succeeded", endpoint_id=endpoint["id"])
    text = pay.get("/metrics").text
    assert 'webhook_attempts_total{outcome="succeeded"}' in text
    assert "webhook_attempt_duration_seconds_bucket" in text


def test_pending_deliveries_are_the_outbox_depth_and_each_attempt_records_its_delay(pay, receiver):
    from labkit.monitoring.exposition import sample_value, scrape

    def figures() -> tuple[float, float]:
        text = scrape(pay.base)
        return (sample_value(text, "lab_queue_depth", queue="webhook_deliveries"),
                sample_value(text, "lab_processing_delay_seconds_count", queue="webhook_deliveries"))

    depth_before, delays_before = figures()
    receiver.answer(then=500)
    created = pay.endpoint(receiver.url, events=["payment_intent.created"])
    try:
        events = [first_event(pay) for _ in range(3)]
        depth, _ = figures()
        assert depth - depth_before == 3  # retrying on the schedule: still in the outbox
        for event_id in events:
            pay.delivery_when(lambda d: d["status"] == "failed", timeout=15, event_id=event_id)
        depth, delays = figures()
        assert depth == depth_before  # given up on: out of the outbox
        assert delays - delays_before == 15  # five attempts each, every one timed from when it was due
    finally:
        pay.delete(f"/api/webhook_endpoints/{created['id']}")
