"""The orchestrated saga over real HTTP: each step failed in turn, transient failures, a killed orchestrator."""
from __future__ import annotations

import os
import signal
import uuid

import pytest
import requests

from tests.microservices.conftest import CUSTOMER, Micro, wait_for


def _reservations(micro: Micro, saga_id: str) -> list[dict]:
    return micro.get("catalog", "/api/reservations", params={"order_id": saga_id}).json()


def _payments(micro: Micro, saga_id: str) -> list[dict]:
    return micro.get("payments", "/api/payment_intents", params={"order_id": saga_id}).json()["data"]


def _refunds(micro: Micro, intent_id: str) -> list[dict]:
    return micro.get("payments", "/api/refunds", params={"payment_intent": intent_id}).json()["data"]


def _kinds(saga: dict) -> list[tuple[str | None, str]]:
    return [(line["step"], line["kind"]) for line in saga["log"] if line["kind"] != "retry"]


def test_a_saga_that_succeeds_reserves_charges_ships_and_approves(micro: Micro):
    before = micro.stock("XYZ")["stock"]
    saga = micro.saga([{"product_id": "XYZ", "quantity": 2}])
    assert saga["status"] == "completed" and saga["order_status"] == "approved"
    assert saga["total"] == 2 * micro.stock("XYZ")["price"]
    assert [s["status"] for s in saga["steps"]] == ["done"] * 5
    assert [r["status"] for r in _reservations(micro, saga["saga_id"])] == ["committed"]
    [intent] = _payments(micro, saga["saga_id"])
    assert intent["status"] == "succeeded" and intent["amount"] == saga["total"] * 100
    shipment = micro.get("shipping", f"/api/shipments/{saga['saga_id']}").json()
    assert shipment["status"] == "shipped" and shipment["waybill"] == saga["steps"][3]["result"]["waybill"]
    assert micro.stock("XYZ")["stock"] == before - 2


def test_a_declined_card_releases_the_stock_and_rejects_the_order(micro: Micro):
    before = micro.stock("ABC")["stock"]
    saga = micro.saga(payment_method="pm_card_chargeDeclined")
    assert saga["status"] == "compensated" and saga["order_status"] == "rejected"
    assert saga["failed_step"] == "charge_payment" and "declined" in saga["reason"]
    assert [s["status"] for s in saga["steps"]] == ["compensated", "compensated", "failed", "pending", "pending"]
    assert _kinds(saga)[-8:] == [
        ("charge_payment", "step_failed"), ("charge_payment", "compensation_started"),
        ("charge_payment", "compensated"), ("reserve_stock", "compensation_started"), ("reserve_stock", "compensated"),
        ("create_order", "compensation_started"), ("create_order", "compensated"), (None, "saga_compensated")]
    assert [r["status"] for r in _reservations(micro, saga["saga_id"])] == ["released"]
    assert all(p["status"] != "succeeded" for p in _payments(micro, saga["saga_id"]))
    assert micro.stock("ABC")["stock"] == before


def test_a_refused_shipment_refunds_the_payment_and_releases_the_stock_in_reverse(micro: Micro):
    before = micro.stock("ABC")["stock"]
    saga = micro.saga(shipping={"city": "Ужгород"})
    assert saga["status"] == "compensated" and saga["failed_step"] == "create_shipment"
    assert "SHIPPING_REJECTED" in saga["reason"]
    compensated = [line["step"] for line in saga["log"] if line["kind"] == "compensated"]
    assert compensated == ["charge_payment", "reserve_stock", "create_order"]  # the reverse of the steps done
    [intent] = _payments(micro, saga["saga_id"])
    assert [r["amount"] for r in _refunds(micro, intent["id"])] == [intent["amount"]]
    assert micro.get("payments", f"/api/payment_intents/{intent['id']}").json()["amount_refunded"] == intent["amount"]
    assert [r["status"] for r in _reservations(micro, saga["saga_id"])] == ["released"]
    assert micro.stock("ABC")["stock"] == before
    assert micro.get("shipping", f"/api/shipments/{saga['saga_id']}").status_code == 404


def test_no_stock_for_the_second_line_releases_the_first(micro: Micro):
    micro.set_stock("HM-001", 1)
    before = micro.stock("XYZ")["stock"]
    saga = micro.saga([{"product_id": "XYZ", "quantity": 1}, {"product_id": "HM-001", "quantity": 2}])
    assert saga["failed_step"] == "reserve_stock" and "INSUFFICIENT_STOCK" in saga["reason"]
    assert [r["status"] for r in _reservations(micro, saga["saga_id"])] == ["released"]
    assert micro.stock("XYZ")["stock"] == before and micro.stock("HM-001")["stock"] == 1
    assert _payments(micro, saga["saga_id"]) == []  # never charged


def test_a_transient_failure_is_retried_not_compensated(micro: Micro):
    """Payments answers 503 to two calls in three: the step is retried until it passes."""
    micro.chaos("payments", error_rate=0.6, error_status=503)
    try:
        saga = micro.saga(wait=30)
    finally:
        micro.chaos("payments")
    if saga["steps"][2]["attempts"] == 1:
        pytest.skip("the dice let every first call through (a 0.4 chance per call); nothing retried")
    assert saga["status"] == "completed"
    assert any(line["kind"] == "retry" and line["step"] == "charge_payment" for line in saga["log"])
    assert len([p for p in _payments(micro, saga["saga_id"]) if p["status"] == "succeeded"]) == 1


def test_when_retries_run_out_the_saga_compensates(micro: Micro):
    micro.chaos("shipping", error_rate=1.0, error_status=503)
    try:
        saga = micro.saga(wait=30)
    finally:
        micro.chaos("shipping")
    assert saga["status"] == "compensated" and saga["failed_step"] == "create_shipment"
    assert saga["steps"][3]["attempts"] == 4 and "retries exhausted" in saga["reason"]
    [intent] = _payments(micro, saga["saga_id"])
    assert _refunds(micro, intent["id"])


def test_a_killed_orchestrator_finishes_the_saga_when_it_starts_again(micro: Micro):
    """SIGKILL the orchestrator while payments is slow; the host restarts it and it resumes from its log."""
    host = os.environ["LAB_HOST_URL"]
    micro.stack.isolate("saga")
    micro.chaos("payments", latency_ms=2500)
    try:
        saga_id = micro.saga(wait=0)["saga_id"]
        wait_for(lambda: micro.get("saga", f"/api/sagas/{saga_id}").json()["steps"][2]["status"] == "running",
                 timeout=10, what="the charge under way")
        pid = requests.get(host + "/services/saga", timeout=5).json()["pid"]
        os.kill(pid, signal.SIGKILL)
        micro.chaos("payments")
        saga = wait_for(lambda: _finished(micro, saga_id), timeout=60, what="the saga finished after the restart")
    finally:
        micro.chaos("payments")
        micro.stack.join("saga")
    assert saga["status"] == "completed"
    assert ("create_order", "step_started") in _kinds(saga) and any(k == "resumed" for _, k in _kinds(saga))
    assert len(_payments(micro, saga_id)) == 1  # charged once, though the charge was sent twice
    assert [r["status"] for r in _reservations(micro, saga_id)] == ["committed"]


def test_a_saga_killed_while_compensating_finishes_compensating(micro: Micro):
    host = os.environ["LAB_HOST_URL"]
    before = micro.stock("ABC")["stock"]
    micro.stack.isolate("saga")
    micro.chaos("catalog", latency_ms=2000)
    micro.chaos("catalog-2", latency_ms=2000)
    try:
        saga_id = micro.saga(wait=0, shipping={"city": "Ужгород"})["saga_id"]
        wait_for(lambda: micro.get("saga", f"/api/sagas/{saga_id}").json()["status"] == "compensating",
                 timeout=30, what="the compensation under way")
        wait_for(lambda: micro.get("saga", f"/api/sagas/{saga_id}").json()["steps"][1]["status"] == "compensating",
                 timeout=30, what="the release under way")
        os.kill(requests.get(host + "/services/saga", timeout=5).json()["pid"], signal.SIGKILL)
        micro.chaos("catalog")
        micro.chaos("catalog-2")
        saga = wait_for(lambda: _finished(micro, saga_id), timeout=60, what="the compensation finished")
    finally:
        micro.chaos("catalog")
        micro.chaos("catalog-2")
        micro.stack.join("saga")
    assert saga["status"] == "compensated"
    assert micro.stock("ABC")["stock"] == before
    [intent] = _payments(micro, saga_id)
    assert len(_refunds(micro, intent["id"])) == 1  # refunded once, though the orchestrator died in between


def test_the_same_idempotency_key_starts_one_saga(micro: Micro):
    key = str(uuid.uuid4())
    body = {"customer": CUSTOMER, "items": [{"product_id": "EL-008", "quantity": 1}]}
    first = micro.post("saga", "/api/sagas?wait=20", json=body, headers={"Idempotency-Key": key})
    again = micro.post("saga", "/api/sagas", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["saga_id"] == again.json()["saga_id"]
    other = micro.post("saga", "/api/sagas", json={**body, "items": [{"product_id": "ABC", "quantity": 9}]},
                       headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_bad_requests_start_nothing(micro: Micro):
    count = len(micro.get("saga", "/api/sagas?limit=100").json())
    for body in ({}, {"customer": CUSTOMER, "items": []},
                 {"customer": CUSTOMER, "items": [{"product_id": "abc; drop", "quantity": 1}]},
                 {"customer": CUSTOMER, "items": [{"product_id": "ABC", "quantity": 0}]}):
        resp = micro.post("saga", "/api/sagas", json=body)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR", body
    assert micro.get("saga", "/api/sagas/saga_0000000000000000").status_code == 404
    assert micro.get("saga", "/api/sagas/nope").status_code == 400
    assert len(micro.get("saga", "/api/sagas?limit=100").json()) == count


def test_the_saga_can_be_placed_through_the_gateway(micro: Micro):
    resp = micro.post("gateway", "/api/sagas?wait=20", headers=micro.token(), json={
        "customer": CUSTOMER, "items": [{"product_id": "ABC", "quantity": 1}]})
    assert resp.status_code == 201 and resp.json()["status"] == "completed"
    assert resp.headers["Location"].startswith(micro.url("gateway") + "/api/sagas/saga_")


def _finished(micro: Micro, saga_id: str) -> dict | None:
    try:
        saga = requests.get(micro.url("saga") + f"/api/sagas/{saga_id}", timeout=5).json()
    except (requests.RequestException, ValueError):
        return None  # killed, not back yet
    return saga if saga["status"] in ("completed", "compensated") else None
