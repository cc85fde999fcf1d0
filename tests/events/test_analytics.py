"""Analytics, a CQRS read model: built from events only, rebuilt from Kafka to the same numbers."""
from __future__ import annotations

from tests.events.conftest import Flow, wait_for


def test_a_rebuild_from_kafka_gives_the_same_numbers(flow: Flow, shipped_order: dict):
    wait_for(lambda: flow.get("analytics", "/api/stats/summary").json()["shipped"] >= 1, what="analytics to catch up")
    wait_for(lambda: any(e["type"] == "OrderShipped" and e["subject"] == shipped_order["order_id"]
                         for e in flow.get("eventlog", "/api/events", params={"type": "OrderShipped"}).json()),
             what="the event log to have it")
    before = flow.get("analytics", "/api/stats/summary").json()
    top = flow.get("analytics", "/api/stats/top-products").json()
    started = flow.post("analytics", "/admin/rebuild")
    assert started.status_code == 202 and started.json()["status"] == "running"
    assert flow.post("analytics", "/admin/rebuild").status_code in (202, 409)
    done = wait_for(lambda: (r := flow.get("analytics", "/admin/rebuild").json())["status"] in ("done", "failed") and r,
                    timeout=60, what="the rebuild")
    assert done["status"] == "done" and done["events"] >= before["events_seen"] > 0
    after = flow.get("analytics", "/api/stats/summary").json()
    keys = ("orders", "paid_orders", "shipped", "cancelled", "revenue_uah")
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
    assert flow.get("analytics", "/api/stats/top-products").json() == top


def test_daily_statistics(flow: Flow, shipped_order: dict):
    day = shipped_order["created_at"][:10]
    wait_for(lambda: any(d["day"] == day for d in flow.get("analytics", "/api/stats/daily").json()), what="the day")
