"""Measure the event-driven flow: orders per second end to end, its latency, a CQRS rebuild, the memory added.

    python bench/bench_events.py [--orders 200] [--concurrency 8] [--rebuild-events 10000] [--json]

Runs a private stack in a fresh state folder on free ports (RabbitMQ and Kafka, and every service in
one host process, as `lab up` runs them), with the payments service's retries compressed.

1. **End to end.** First twenty orders one at a time (the latency of an order alone), then
   ``--orders`` orders placed from ``--concurrency`` threads at once; each order's latency is
   the time between its first event (``Created``) and its last (``Shipped``), as its event stream
   records them, so polling costs nothing; throughput is orders shipped per second over the run.
   Every order crosses orders → RabbitMQ → inventory and billing → payments → webhook → billing →
   shipping → carrier → orders, plus notifications (SMTP), analytics and eventlog (Kafka).
2. **Rebuild.** ``--rebuild-events`` events appended straight to the Kafka topic, then analytics'
   read model dropped and replayed from it (`POST /admin/rebuild`).
3. **Memory.** The host's PSS with only the webhook services (shop, payments, inspector), and with
   every service of notebook 04 besides them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from labkit import components, config  # noqa: E402
from labkit.brokers import KAFKA, RABBITMQ  # noqa: E402
from labkit.procs import free_port, wait_until  # noqa: E402
from labkit.stack import Stack  # noqa: E402
from labservices.common.events import Event  # noqa: E402

WEBHOOK_SERVICES = {"shop", "payments", "inspector"}


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def private_stack(home: Path, names: set[str] | None) -> Stack:
    specs = [c for c in components.components() if c.kind == "service" and (names is None or c.name in names)]
    return Stack(home=home, components=[RABBITMQ, KAFKA, components.HostSpec(specs), *specs])


def with_free_ports() -> None:
    os.environ.update({
        "LAB_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}",
        "LAB_RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{free_port()}",
        "LAB_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "LAB_HOST_URL": f"http://127.0.0.1:{free_port()}",
        "LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}", "PAYMENTS_RETRY_TIME_SCALE": "0.001",
        **{config.env_name(c.name): f"http://127.0.0.1:{free_port()}" for c in components.components()
           if c.kind == "service"}})


def host_pss(stack: Stack) -> float:
    time.sleep(1.0)
    return next(s for s in stack.status() if s.kind == "host").pss_mb


def place(n: int) -> str:
    body = {"customer": {"name": "Бенч", "email": f"bench{n}@example.com"},
            "items": [{"sku": "EL-008", "quantity": 1}, {"sku": "ABC", "quantity": 1}]}
    resp = requests.post(config.url("orders") + "/api/orders", json=body, timeout=30)
    resp.raise_for_status()
    return resp.json()["order_id"]


def one_at_a_time(count: int = 20) -> dict:
    """Latency of an order alone on the bus: placed, then waited for, one after the other."""
    latencies = []
    for n in range(count):
        order_id = place(10_000 + n)
        wait_until(lambda: requests.get(config.url("orders") + f"/api/orders/{order_id}", timeout=10).json()["status"]
                   == "shipped", timeout=60, interval=0.05)
        stream = requests.get(config.url("orders") + f"/api/orders/{order_id}/events", timeout=10).json()
        latencies.append(epoch(stream[-1]["timestamp"]) - epoch(stream[0]["timestamp"]))
    latencies.sort()
    result = {"orders": count, "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
              "latency_ms_max": round(latencies[-1] * 1000, 1)}
    print(f"one order at a time: created → shipped p50 {result['latency_ms_p50']} ms, worst {result['latency_ms_max']} ms",
          file=sys.stderr)
    return result


def end_to_end(orders: int, concurrency: int) -> dict:
    requests.put(config.url("inventory") + "/api/stock/EL-008", json={"on_hand": 1_000_000}, timeout=10)
    requests.put(config.url("inventory") + "/api/stock/ABC", json={"on_hand": 1_000_000}, timeout=10)
    started = time.time()
    with ThreadPoolExecutor(concurrency) as pool:
        ids = list(pool.map(place, range(orders)))
    placed = time.time()

    def all_shipped() -> bool:
        listed = requests.get(config.url("orders") + "/api/orders", params={"status": "shipped", "limit": 1},
                              timeout=10).json()
        return listed["pagination"]["total"] >= orders

    if not wait_until(all_shipped, timeout=600, interval=0.5):
        raise SystemExit("not every order shipped within 10 minutes; see the services' logs")
    latencies, last = [], 0.0
    for order_id in ids:
        stream = requests.get(config.url("orders") + f"/api/orders/{order_id}/events", timeout=10).json()
        created, shipped = epoch(stream[0]["timestamp"]), epoch(stream[-1]["timestamp"])
        latencies.append(shipped - created)
        last = max(last, shipped)
    latencies.sort()
    result = {"orders": orders, "concurrency": concurrency, "placing_s": round(placed - started, 2),
              "orders_per_s": round(orders / (last - started), 1),
              "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
              "latency_ms_p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1)}
    print(f"end to end: {orders} orders shipped at {result['orders_per_s']} orders/s; created → shipped "
          f"p50 {result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms", file=sys.stderr)
    return result


def rebuild(events: int) -> dict:
    from kafka import KafkaProducer

    from labservices.common.events import kafka as event_topic

    producer = KafkaProducer(bootstrap_servers=config.kafka_bootstrap(), linger_ms=20)
    for n in range(events // 2):
        order_id = str(uuid.uuid4())
        for event in (Event("OrderCreated", "/bench", order_id, {"order_id": order_id, "total": 100,
                                                                 "items": [{"sku": "ABC", "quantity": 1, "unit_price": 100}]}),
                      Event("PaymentProcessed", "/bench", order_id, {"order_id": order_id, "payment_id": f"pi_{n}",
                                                                     "amount": 10000})):
            message = event.kafka_message()
            producer.send(event_topic.topic(), message.value, key=message.key)
    producer.flush()
    producer.close()
    assert requests.post(config.url("analytics") + "/admin/rebuild", timeout=10).status_code == 202
    wait_until(lambda: requests.get(config.url("analytics") + "/admin/rebuild", timeout=10).json()["status"] != "running",
               timeout=600, interval=0.5)
    state = requests.get(config.url("analytics") + "/admin/rebuild", timeout=10).json()
    result = {"events": state["events"], "duration_s": round(state["duration_ms"] / 1000, 2),
              "events_per_s": round(state["events"] / (state["duration_ms"] / 1000)), "status": state["status"]}
    print(f"rebuild: {result['events']} events replayed from Kafka in {result['duration_s']} s "
          f"({result['events_per_s']} events/s, {result['status']})", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rebuild-events", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        with_free_ports()
        os.environ["LAB_HOME"] = str(Path(tmp) / "webhooks")
        small = private_stack(Path(tmp) / "webhooks", WEBHOOK_SERVICES)
        try:
            small.up(timeout=300)
            result["pss_mb_webhook_services"] = host_pss(small)
        finally:
            small.down()
        with_free_ports()
        os.environ["LAB_HOME"] = str(Path(tmp) / "all")
        stack = private_stack(Path(tmp) / "all", None)
        try:
            started = time.perf_counter()
            stack.up(timeout=300)
            result["startup_s"] = round(time.perf_counter() - started, 1)
            result["services"] = sum(1 for c in stack.components if c.kind == "service")
            result["pss_mb_all_services"] = host_pss(stack)
            print(f"memory: host PSS {result['pss_mb_webhook_services']} MB with the webhook services, "
                  f"{result['pss_mb_all_services']} MB with all {result['services']}", file=sys.stderr)
            wait_until(lambda: all(requests.get(config.url(n) + "/admin/bus", timeout=5).json()["connected"]
                                   for n in ("orders", "inventory", "billing", "shipping", "analytics")), timeout=60)
            time.sleep(11)  # billing registers its webhook endpoint at payments
            result["one_at_a_time"] = one_at_a_time()
            result["end_to_end"] = end_to_end(args.orders, args.concurrency)
            result["rebuild"] = rebuild(args.rebuild_events)
            result["pss_mb_after_load"] = host_pss(stack)
        finally:
            stack.down()
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
