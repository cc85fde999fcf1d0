"""The lecture's diagram, running: one order through every service of notebook 04, and its failures."""
from __future__ import annotations

import requests

from labkit import traces
from tests.events.conftest import Flow, wait_for


def test_an_order_travels_the_whole_diagram(flow: Flow):
    placed = flow.place(items=[{"sku": "ABC", "quantity": 2}, {"sku": "XYZ", "quantity": 1}])
    assert (placed["status"], placed["version"], placed["total"]) == ("pending", 1, 2 * 549 + 699)
    order_id = placed["order_id"]
    order = flow.order_when(order_id, lambda o: o["status"] == "shipped")
    assert (order["stock"], order["payment"]) == ("reserved", "paid") and order["waybill"].startswith("2045")
    stream = [e["type"] for e in flow.get("orders", f"/api/orders/{order_id}/events").json()]
    assert stream[0] == "Created" and stream[-1] == "Shipped"
    assert sorted(stream[1:3]) == ["PaymentReceived", "StockReserved"]

    assert flow.get("inventory", f"/api/reservations/{order_id}").json()["status"] == "shipped"
    payment = flow.get("billing", f"/api/payments/{order_id}").json()
    assert payment["status"] == "succeeded" and payment["amount"] == order["total"] * 100
    assert flow.get("payments", f"/api/payment_intents/{payment['payment_intent']}").json()["status"] == "succeeded"
    shipment = flow.get("shipping", f"/api/shipments/{order_id}").json()
    assert shipment["waybill"] == order["waybill"]
    tracking = flow.post("carrier", "/v2.0/json/", json={
        "apiKey": "np-lab-key-0000", "modelName": "TrackingDocument", "calledMethod": "getStatusDocuments",
        "methodProperties": {"Documents": [{"DocumentNumber": order["waybill"]}]}}).json()
    assert tracking["success"] and tracking["data"][0]["Number"] == order["waybill"]

    to = order["customer"]["email"]
    subjects = wait_for(lambda: [m["Subject"] for m in flow.get("mailbox", "/api/v1/messages",
                                                                 params={"to": to}).json()["messages"]
                                 if len(flow.get("mailbox", "/api/v1/messages", params={"to": to}).json()["messages"]) >= 2],
                        what="two emails")
    assert sorted(s.split()[-1] for s in subjects) == ["відправлено", "прийнято"]
    logged = wait_for(lambda: {e["type"] for e in flow.get("eventlog", "/api/events", params={"subject": order_id}).json()}
                      >= {"OrderCreated", "InventoryReserved", "PaymentProcessed", "OrderShipped"} and
                      flow.get("eventlog", "/api/events", params={"subject": order_id}).json(), what="the Kafka log")
    assert all(e["offset"] is not None for e in logged)


def test_one_order_is_one_trace_across_the_services(flow: Flow):
    placed = requests.post(flow.url("orders") + "/api/orders", json={
        "customer": {"name": "Тарас", "email": "taras@example.com"}, "items": [{"sku": "EL-008", "quantity": 1}]})
    flow.order_when(placed.json()["order_id"], lambda o: o["status"] == "shipped")
    waterfall = wait_for(lambda: (w := traces.trace(placed, wait_s=1)) and
                         {"orders", "inventory", "billing", "payments", "shipping", "carrier"} <= set(w.services) and w,
                         what="a trace through every service")
    rows = waterfall.rows()
    assert rows[0]["service"] == "orders" and rows[0]["operation"] == "POST /api/orders"
    operations = {(r["service"], r["operation"]) for r in rows}
    assert ("billing", "POST /webhooks/payments") in operations  # the webhook continued the trace
    assert ("shipping", "consume PaymentProcessed") in operations and ("carrier", "POST /v2.0/json/") in operations


def test_a_declined_card_cancels_the_order_and_releases_its_stock(flow: Flow):
    before = flow.get("inventory", "/api/stock/EL-002").json()["available"]
    order = flow.place(items=[{"sku": "EL-002", "quantity": 1}], payment_method="pm_card_chargeDeclined")
    done = flow.order_when(order["order_id"], lambda o: o["status"] == "cancelled")
    assert done["payment"] == "declined" and "Оплату відхилено" in done["reason"]
    reservation = wait_for(lambda: (r := flow.get("inventory", f"/api/reservations/{order['order_id']}").json())
                           and r.get("status") == "released" and r, what="the stock released")
    assert reservation["items"] == {"EL-002": 1}
    assert flow.get("inventory", "/api/stock/EL-002").json()["available"] == before
    assert flow.get("shipping", f"/api/shipments/{order['order_id']}").json()["status"] == "cancelled"


def test_no_stock_cancels_the_order_and_refunds_the_payment(flow: Flow):
    flow.stack  # noqa: B018 - the flow is up
    requests.put(flow.url("inventory") + "/api/stock/HM-001", json={"on_hand": 0})
    order = flow.place(items=[{"sku": "HM-001", "quantity": 1}])
    done = flow.order_when(order["order_id"], lambda o: o["status"] == "cancelled")
    assert done["stock"] == "rejected" and "Немає на складі" in done["reason"]
    payment = wait_for(lambda: (p := flow.get("billing", f"/api/payments/{order['order_id']}").json())
                       and p.get("status") == "refunded" and p, what="the refund")
    refunds = flow.get("payments", "/api/refunds", params={"payment_intent": payment["payment_intent"]}).json()["data"]
    assert [r["amount"] for r in refunds] == [payment["amount"]]
    requests.put(flow.url("inventory") + "/api/stock/HM-001", json={"on_hand": 1})


def test_analytics_counts_what_the_events_said(flow: Flow, shipped_order: dict):
    summary = wait_for(lambda: (s := flow.get("analytics", "/api/stats/summary").json())["shipped"] >= 1 and s,
                       what="analytics to see a shipped order")
    assert summary["orders"] >= 1 and summary["revenue_uah"] > 0 and summary["events_seen"] >= 4
    top = flow.get("analytics", "/api/stats/top-products").json()
    assert any(p["sku"] == "ABC" for p in top)
