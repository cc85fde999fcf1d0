"""The new-order workflow end to end against the real CRM, warehouse, payments, mailbox and analytics."""
from __future__ import annotations

import json
import time

from labkit.procs import wait_until
from tests.lab_http import Lab
from tests.middleware.conftest import ATTEMPTS, order

CRM_FORM = {"grant_type": "client_credentials", "client_id": "crm-reader", "client_secret": "reader-secret"}


def crm(lab: Lab, path: str, **params) -> dict:
    token = lab.post("crm", "/services/oauth2/token", data=CRM_FORM).json()["access_token"]
    return lab.get("crm", path, params=params, headers={"Authorization": f"Bearer {token}"}).json()


def run(lab: Lab, body: dict) -> dict:
    resp = lab.post("middleware", "/webhooks/orders", json=body, params={"wait": "true"}, timeout=40)
    assert resp.status_code == 200, resp.text
    return resp.json()["execution"]


def test_a_new_order_goes_through_every_system_once(lab: Lab):
    body = order(quantity=2)
    counted = lab.get("analytics", "/api/stats/summary").json()["orders"]
    execution = run(lab, body)
    assert execution["status"] == "success", execution
    assert [s["name"] for s in execution["steps"]] == ["crm_contact", "crm_deal", "warehouse_reserve", "payment",
                                                       "email", "analytics"]
    assert all(s["status"] == "success" and s["attempts"] == 1 for s in execution["steps"])
    [contact] = crm(lab, "/api/contacts", email=body["customer"]["email"])["data"]
    assert contact["first_name"] == "Олена" and execution["steps"][0]["output"] == {"contact_id": contact["id"],
                                                                                    "created": True}
    [deal] = crm(lab, "/api/deals", external_id=body["order_id"])["data"]
    assert deal["contact_id"] == contact["id"] and deal["amount"] == 1098 and deal["stage"] == "Closed Won"
    assert lab.get("warehouse", f"/api/reservations/{body['order_id']}").json()["items"] == [{"sku": "ABC", "quantity": 2}]
    [intent] = lab.get("payments", "/api/payment_intents", params={"order_id": body["order_id"]}).json()["data"]
    assert intent["status"] == "succeeded" and intent["amount"] == 109800
    [mail] = lab.get("mailbox", "/api/v1/messages", params={"to": body["customer"]["email"]}).json()["messages"]
    assert mail["Subject"] == f"Замовлення {body['order_id']} підтверджено"
    assert wait_until(lambda: lab.get("analytics", "/api/stats/summary").json()["orders"] == counted + 1, timeout=15)


def test_the_same_webhook_again_does_nothing_twice(lab: Lab):
    body = order()
    first = run(lab, body)
    again = lab.post("middleware", "/webhooks/orders", json=body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["execution_id"] == first["id"]
    assert crm(lab, "/api/deals", external_id=body["order_id"])["pagination"]["total"] == 1
    assert len(lab.get("payments", "/api/payment_intents", params={"order_id": body["order_id"]}).json()["data"]) == 1
    assert lab.get("mailbox", "/api/v1/messages", params={"to": body["customer"]["email"]}).json()["total"] == 1
    assert lab.get("middleware", f"/api/executions/{first['id']}").json()["duplicates"] == 1


def test_a_failing_step_is_retried_then_dead_lettered_and_a_replay_goes_on_from_it(lab: Lab):
    body = order()
    lab.put("warehouse", "/admin/chaos", json={"down": True})
    try:
        failed = run(lab, body)
    finally:
        lab.delete("warehouse", "/admin/chaos")
    steps = {s["name"]: s for s in failed["steps"]}
    assert failed["status"] == "error" and failed["failed_step"] == "warehouse_reserve"
    assert steps["warehouse_reserve"]["attempts"] == ATTEMPTS and "503" in steps["warehouse_reserve"]["error"]
    assert steps["crm_deal"]["status"] == "success" and steps["payment"]["status"] == "waiting"
    assert lab.get("payments", "/api/payment_intents", params={"order_id": body["order_id"]}).json()["data"] == []
    dead = lab.get("middleware", "/api/dead-letters").json()
    assert any(d["execution_id"] == failed["id"] and d["step"] == "warehouse_reserve" for d in dead)

    replayed = lab.post("middleware", f"/api/dead-letters/{failed['id']}/replay", params={"wait": "true"}, timeout=40)
    assert replayed.status_code == 202 and replayed.json()["status"] == "success", replayed.text
    steps = {s["name"]: s for s in replayed.json()["steps"]}
    assert steps["crm_contact"]["attempts"] == 1 and steps["warehouse_reserve"]["attempts"] == 1
    assert replayed.json()["replays"] == 1
    assert crm(lab, "/api/deals", external_id=body["order_id"])["pagination"]["total"] == 1
    assert all(d["execution_id"] != failed["id"] for d in lab.get("middleware", "/api/dead-letters").json())
    again = lab.post("middleware", f"/api/dead-letters/{failed['id']}/replay")
    assert again.status_code == 409 and again.json()["error"]["code"] == "NOT_DEAD_LETTERED"


def test_a_step_that_fails_once_succeeds_on_its_retry(lab: Lab):
    body = order()
    lab.put("warehouse", "/admin/chaos", json={"down": True})
    try:
        started = lab.post("middleware", "/webhooks/orders", json=body)
        assert started.status_code == 202 and started.headers["location"].endswith(started.json()["execution_id"])
        url = f"/api/executions/{started.json()['execution_id']}"
        assert wait_until(lambda: lab.get("middleware", url).json()["steps"][2]["status"] == "retrying", timeout=10)
    finally:
        lab.delete("warehouse", "/admin/chaos")
    assert wait_until(lambda: lab.get("middleware", url).json()["status"] == "success", timeout=15)
    assert lab.get("middleware", url).json()["steps"][2]["attempts"] >= 2


def test_a_refusal_is_not_retried_it_waits_in_the_dead_letters(lab: Lab):
    failed = run(lab, order(sku="EL-005", quantity=500))
    step = next(s for s in failed["steps"] if s["name"] == "warehouse_reserve")
    assert failed["status"] == "error" and step["attempts"] == 1
    assert "409" in step["error"] and "Недостатньо товару" in step["error"]


def test_every_log_line_of_a_run_carries_its_request_id_and_order_id_across_services(lab: Lab):
    body = order()
    resp = lab.post("middleware", "/webhooks/orders", json=body, params={"wait": "true"},
                    headers={"X-Request-ID": "req_follow_me_1"}, timeout=40)
    assert resp.json()["execution"]["request_id"] == "req_follow_me_1"
    time.sleep(0.3)
    lines = [json.loads(line) for line in (lab.home / "logs" / "middleware.log").read_text().splitlines()
             if "req_follow_me_1" in line]
    actions = [line.get("action") for line in lines]
    for step in ("crm_contact", "crm_deal", "warehouse_reserve", "payment", "email", "analytics"):
        assert f"{step}_start" in actions and f"{step}_success" in actions, actions
    assert all(line["order_id"] == body["order_id"] for line in lines if line.get("action"))
    for service in ("crm", "warehouse", "payments"):
        assert "req_follow_me_1" in (lab.home / "logs" / f"{service}.log").read_text(), service


def test_bad_orders_are_400_and_the_history_page_shows_runs(lab: Lab):
    for bad in ({}, {**order(), "items": []}, {**order(), "total": -1}, {**order(), "extra": 1}):
        resp = lab.post("middleware", "/webhooks/orders", json=bad)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR"
    execution = run(lab, order())
    page = lab.get("middleware", f"/executions/{execution['id']}")
    assert page.status_code == 200 and "warehouse_reserve" in page.text and execution["request_id"] in page.text
    assert execution["id"] in lab.get("middleware", "/executions").text
    assert lab.get("middleware", "/api/executions/exe_000000000000").status_code == 404
