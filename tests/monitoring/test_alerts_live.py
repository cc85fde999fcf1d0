"""The lecture's four alerts, each provoked live on the real stack, seen firing and resolving.

Against the session's whole lab (``lab_stack``: real RabbitMQ, the services in their host, the lab's
Prometheus and Alertmanager): the chaos switches slow the shop down and break the payments API, a
burst of calls with the demo key hits the shop's rate limit, a webhook receiver that answers 500
fills the payments outbox, and 150 messages wait in a RabbitMQ queue nobody consumes. Each alert
must fire in Prometheus and arrive in the inspector's alerts bin as Alertmanager's webhook, then,
once the cause is gone, arrive again as resolved. All five run at once: about a minute and a half.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pika
import pytest
import requests

from labkit import config
from labkit.brokers import fresh_name
from labkit.monitoring import last_number, notifications, wait_for_alert

DEMO = {"X-API-Key": "ratelimit-demo-key"}
FIRE_WITHIN_S = 90
RESOLVE_WITHIN_S = 120


@contextmanager
def traffic(url: str, headers: dict | None = None, pause: float = 0.05, threads: int = 1):
    """Clients calling ``url`` in a loop (each waits for its answer) until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                session.get(url, headers=headers, timeout=5)
            except requests.RequestException:
                pass
            stop.wait(pause)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=10)


def wait_for_notifications(wanted: dict[str, tuple[str, dict]], status: str, since: int, timeout: float) -> dict:
    """Each wanted (alertname, labels) delivered with ``status`` after request ``since``; fail naming the missing."""
    got: dict = {}
    deadline = time.monotonic() + timeout
    while len(got) < len(wanted) and time.monotonic() < deadline:
        for n in notifications(since):
            for key, (name, labels) in wanted.items():
                if key not in got and n.alertname == name and n.status == status and \
                        all(n.labels.get(k) == v for k, v in labels.items()):
                    got[key] = n
        time.sleep(1)
    missing = sorted(set(wanted) - set(got))
    assert not missing, f"not delivered as {status} within {timeout:.0f} s: {missing}"
    return got


@pytest.mark.slow
def test_each_lecture_alert_fires_and_resolves_and_arrives_as_a_webhook(lab_env):
    shop, payments, inspector = config.url("shop"), config.url("payments"), config.url("inspector")
    queue = fresh_name("overflowing")
    wanted = {
        "rate limit": ("RateLimitExceeded", {"job": "shop"}),
        "latency": ("HighLatency", {"job": "shop"}),
        "errors": ("HighErrorRate", {"job": "payments"}),
        "rabbitmq queue": ("QueueOverflowing", {"queue": queue, "source": "rabbitmq"}),
        "outbox": ("QueueOverflowing", {"queue": "webhook_deliveries", "job": "payments", "source": "service"}),
    }
    since = last_number()
    receiver = requests.post(inspector + "/api/bins", json={"name": "failing receiver", "response": {"status": 500}},
                             timeout=10).json()
    endpoint = requests.post(payments + "/api/webhook_endpoints", timeout=10, json={
        "url": receiver["url"], "enabled_events": ["payment_intent.created"]}).json()
    connection = pika.BlockingConnection(pika.URLParameters(config.amqp_url()))
    channel = connection.channel()
    try:
        # The outbox: 25 deliveries to a receiver that fails, retried after 1.2 s, 6 s, 18 s, 72 s.
        assert requests.put(payments + "/admin/delivery", json={"time_scale": 0.02, "timeout_s": 2}, timeout=10).ok
        for _ in range(25):
            assert requests.post(payments + "/api/triggers", json={"event": "payment_intent.created"}, timeout=10).ok
        # RabbitMQ: a queue nobody consumes.
        channel.queue_declare(queue)
        for n in range(150):
            channel.basic_publish("", queue, f"order {n}".encode())
        # The chaos switches: the shop answers slowly, the payments API fails.
        assert requests.put(shop + "/admin/chaos", json={"latency_ms": 800}, timeout=10).ok
        assert requests.put(payments + "/admin/chaos", json={"error_rate": 1.0}, timeout=10).ok
        with traffic(shop + "/api/products", threads=2), traffic(payments + "/api/events"), \
                traffic(shop + "/api/weather?city=Lviv", headers=DEMO):
            firing = wait_for_notifications(wanted, "firing", since, FIRE_WITHIN_S)
            for name, labels in wanted.values():
                assert wait_for_alert(name, "firing", timeout=5, labels=labels)["state"] == "firing"
        assert "shop" in firing["latency"].annotations["summary"]
        assert firing["errors"].labels["severity"] == "critical"
        assert "150" in firing["rabbitmq queue"].annotations["description"]

        # Every cause goes away; healthy traffic goes on.
        requests.delete(shop + "/admin/chaos", timeout=10)
        requests.delete(payments + "/admin/chaos", timeout=10)
        requests.put(f"{inspector}/api/bins/{receiver['id']}/response", json={"status": 200}, timeout=10)
        channel.queue_delete(queue)
        since_fixed = max(n.number for n in firing.values())
        with traffic(shop + "/api/products", threads=2), traffic(payments + "/api/events"):
            resolved = wait_for_notifications(wanted, "resolved", since_fixed - 1, RESOLVE_WITHIN_S)
        for key, (name, labels) in wanted.items():
            assert resolved[key].number > firing[key].number
            assert wait_for_alert(name, "inactive", timeout=10, labels=labels) is None
    finally:
        requests.delete(shop + "/admin/chaos", timeout=10)
        requests.delete(payments + "/admin/chaos", timeout=10)
        requests.delete(payments + "/admin/delivery", timeout=10)
        requests.delete(f"{payments}/api/webhook_endpoints/{endpoint['id']}", timeout=10)
        requests.delete(f"{inspector}/api/bins/{receiver['id']}", timeout=10)
        if connection.is_open:
            channel.queue_delete(queue)
            connection.close()
