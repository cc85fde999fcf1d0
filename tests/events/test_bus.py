"""The bus's promises, each tested on the real RabbitMQ: nothing lost, nothing twice, poison set aside."""
from __future__ import annotations

import os
import signal
import time
import uuid

import pika
import requests

from labkit.procs import wait_until
from labservices.common.events import Event
from tests.events.conftest import Flow, wait_for


def order_created(order_id: str | None = None, sku: str = "EL-008", quantity: int = 1, **data) -> Event:
    order_id = order_id or str(uuid.uuid4())
    return Event("OrderCreated", "/tests", order_id, {"order_id": order_id, "items": [{"sku": sku, "quantity": quantity}],
                                                      "total": 299 * quantity, **data})


def test_orders_placed_while_the_bus_is_down_are_all_published_when_it_is_back(flow: Flow):
    flow.stack.stop("rabbitmq")
    try:
        placed = [flow.place()["order_id"] for _ in range(5)]  # orders still answers 201
        pending = wait_for(lambda: (b := requests.get(flow.url("orders") + "/admin/bus").json())["outbox"]["pending"]
                           >= 5 and b, what="the outbox to hold the events")
        assert pending["connected"] is False
    finally:
        flow.stack.start("rabbitmq", timeout=120)
    for order_id in placed:
        flow.order_when(order_id, lambda o: o["status"] == "shipped", timeout=60)
    assert requests.get(flow.url("orders") + "/admin/bus").json()["outbox"]["pending"] == 0


def test_a_duplicate_event_is_processed_once(flow: Flow):
    event = order_created(quantity=2)
    before = requests.get(flow.url("inventory") + "/api/stock/EL-008").json()["available"]
    flow.publish(event)
    flow.publish(event)  # the same id again, as an at-least-once broker may deliver it
    wait_for(lambda: requests.get(flow.url("inventory") + f"/api/reservations/{event.subject}").status_code == 200,
             what="the reservation")
    time.sleep(0.5)
    assert requests.get(flow.url("inventory") + "/api/stock/EL-008").json()["available"] == before - 2
    consumed = requests.get(flow.url("inventory") + "/admin/bus").json()["consumed"]
    assert consumed.get("duplicate", 0) >= 1


def test_payment_before_stock_ships_once_when_both_are_in(flow: Flow):
    order_id = str(uuid.uuid4())
    flow.publish(Event("PaymentProcessed", "/tests", order_id, {"order_id": order_id, "payment_id": "pi_test", "amount": 1}))
    time.sleep(0.5)
    assert requests.get(flow.url("shipping") + f"/api/shipments/{order_id}").json()["status"] == "waiting"
    reserved = Event("InventoryReserved", "/tests", order_id, {"order_id": order_id, "items": []})
    flow.publish(reserved)
    flow.publish(reserved)
    shipment = wait_for(lambda: (s := requests.get(flow.url("shipping") + f"/api/shipments/{order_id}").json())
                        and s["status"] == "shipped" and s, what="the shipment")
    time.sleep(0.5)
    assert requests.get(flow.url("shipping") + f"/api/shipments/{order_id}").json()["waybill"] == shipment["waybill"]


def test_a_poison_event_is_dead_lettered_and_the_queue_goes_on(flow: Flow):
    flow.dead_letters("inventory.events")  # start from an empty dead-letter queue
    flow.publish(b"this is not a CloudEvent", routing_key="OrderCreated")
    bad = Event("OrderCreated", "/tests", "x", {"order_id": "x", "items": "not a list", "total": 1})
    flow.publish(bad)
    good = order_created()
    flow.publish(good)
    wait_for(lambda: requests.get(flow.url("inventory") + f"/api/reservations/{good.subject}").status_code == 200,
             what="the good event after the poison ones")
    dead = wait_for(lambda: (d := flow.dead_letters("inventory.events")) and len(d) >= 2 and d, what="dead letters")
    assert {e.get("raw", e.get("id")) for e, _ in dead} >= {"this is not a CloudEvent", bad.id}
    assert all(h["x-death"][0]["reason"] == "rejected" for _, h in dead)


def test_a_failing_call_is_retried_with_delays_and_succeeds_when_the_carrier_is_back(flow: Flow):
    flow.stack.stop("carrier")
    try:
        order = flow.place()
        flow.order_when(order["order_id"], lambda o: o["status"] == "awaiting_shipment")
        wait_for(lambda: requests.get(flow.url("shipping") + "/admin/bus").json()["consumed"].get("retried"),
                 what="a retry")
    finally:
        flow.stack.start("carrier")
    flow.order_when(order["order_id"], lambda o: o["status"] == "shipped", timeout=30)


def test_a_call_that_keeps_failing_is_dead_lettered_after_the_last_retry(flow: Flow):
    flow.dead_letters("shipping.events")
    requests.put(flow.url("carrier") + "/admin/chaos", json={"error_rate": 1.0, "error_status": 503})
    try:
        order = flow.place()
        drained: list[tuple[dict, dict]] = []  # an earlier test's order still retrying may be dead-lettered too

        def ours():
            drained.extend(flow.dead_letters("shipping.events"))
            return [d for d in drained if d[0].get("data", {}).get("order_id") == order["order_id"]]
        dead = wait_for(ours, timeout=30, what="this order's dead letter")
    finally:
        requests.delete(flow.url("carrier") + "/admin/chaos")
    [(event, headers)] = dead
    assert headers["x-lab-retries"] == 3
    assert requests.get(flow.url("orders") + f"/api/orders/{order['order_id']}").json()["status"] == "awaiting_shipment"


def test_a_consumer_killed_mid_batch_loses_nothing_and_counts_nothing_twice(flow: Flow):
    """SIGKILL analytics (in a process of its own) while it works through a batch; restarted, it has them all.

    A thousand events: a loaded machine once finished 150 between two polls, before the kill.
    """
    batch = 1000

    def counted() -> int:
        try:
            return requests.get(flow.url("analytics") + "/api/stats/summary", timeout=2).json()["orders"]
        except requests.RequestException:
            return -1  # killed, not yet back
    requests.post(flow.url("analytics") + "/admin/reset")
    flow.stack.isolate("analytics")
    try:
        events = [order_created(sku="ABC") for _ in range(batch)]
        connection, channel = flow.channel()
        for event in events:  # a routing key only the "#" subscribers (analytics, eventlog) hear
            channel.basic_publish("lab.events", "test.batch", event.to_json(),
                                  pika.BasicProperties(content_type="application/cloudevents+json", delivery_mode=2))
        connection.close()
        assert wait_until(lambda: 0 < counted() < batch, timeout=20, interval=0.01), "the batch was done before the kill"
        pid = requests.get(os.environ["LAB_HOST_URL"] + "/services/analytics").json()["pid"]
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: counted() >= batch, timeout=60), f"only {counted()} of {batch} after the restart"
        time.sleep(1)  # anything counted twice would show now
        assert counted() == batch
        assert requests.get(os.environ["LAB_HOST_URL"] + "/services/analytics").json()["restarts"] >= 1
    finally:
        flow.stack.join("analytics")
