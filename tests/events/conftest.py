"""The event-driven lab for its tests: the services of notebook 04 in one host, on a RabbitMQ of their own.

A private RabbitMQ (not the session's) lets the tests stop and start the bus for real without
disturbing anyone else; Kafka is the session's, with a topic of this session's own.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pika
import pytest
import requests

from labkit import components, config
from labkit.brokers import RabbitMQSpec
from labkit.procs import free_port, wait_until
from labkit.stack import Stack
from labservices.common.events import Event
from tests.conftest import wait_for  # noqa: F401 (the event tests import it from here)

SERVICES = ["payments", "orders", "inventory", "billing", "shipping", "carrier", "notifications", "mailbox",
            "analytics", "eventlog"]
CUSTOMER = {"name": "Олена Коваленко", "email": "olena@example.com"}


@dataclass
class Flow:
    stack: Stack
    rabbit: RabbitMQSpec

    def url(self, name: str) -> str:
        return config.url(name)

    def get(self, name: str, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url(name) + path, timeout=10, **kwargs)

    def post(self, name: str, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url(name) + path, timeout=10, **kwargs)

    def place(self, items: list[dict] | None = None, **extra: Any) -> dict:
        body = {"customer": {**CUSTOMER, "email": f"c{secrets.token_hex(3)}@example.com"},
                "items": items or [{"sku": "ABC", "quantity": 1}], **extra}
        resp = self.post("orders", "/api/orders", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def order_when(self, order_id: str, predicate: Callable[[dict], bool], timeout: float = 30) -> dict:
        seen: dict = {}

        def check() -> bool:
            seen["o"] = self.get("orders", f"/api/orders/{order_id}").json()
            return predicate(seen["o"])

        assert wait_until(check, timeout=timeout, interval=0.1), f"order never got there: {seen.get('o')}"
        return seen["o"]

    def channel(self):
        connection = pika.BlockingConnection(pika.URLParameters(self.rabbit.address))
        return connection, connection.channel()

    def publish(self, event: Event | bytes, routing_key: str | None = None) -> None:
        connection, channel = self.channel()
        try:
            body = event.to_json() if isinstance(event, Event) else event
            key = routing_key or (event.type if isinstance(event, Event) else "OrderCreated")
            channel.basic_publish("lab.events", key, body, pika.BasicProperties(
                content_type="application/cloudevents+json", delivery_mode=2))
        finally:
            connection.close()

    def depth(self, queue: str) -> int:
        connection, channel = self.channel()
        try:
            return channel.queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()

    def dead_letters(self, queue: str) -> list[tuple[dict, dict]]:
        """Drain ``queue``.dead: each message's CloudEvent and its headers (x-death)."""
        connection, channel = self.channel()
        out = []
        try:
            while True:
                method, props, body = channel.basic_get(f"{queue}.dead", auto_ack=True)
                if method is None:
                    return out
                try:
                    event = json.loads(body)
                except ValueError:
                    event = {"raw": body.decode("utf-8", "replace")}
                out.append((event, props.headers or {}))
        finally:
            connection.close()


@pytest.fixture(scope="package")
def flow(lab_brokers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    home = tmp_path_factory.mktemp("events-home")
    rabbit = RabbitMQSpec(f"amqp://guest:guest@127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
    saved = dict(os.environ)
    os.environ.update({
        "LAB_HOME": str(home), "LAB_AMQP_URL": rabbit.address, "LAB_RABBITMQ_MANAGEMENT_URL": rabbit.management_url,
        "LAB_EVENTS_TOPIC": f"lab.events.test-{secrets.token_hex(3)}", "LAB_EVENT_RETRY_SCALE": "0.02",
        "LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}", "PAYMENTS_RETRY_TIME_SCALE": "0.001",
        "LAB_HOST_URL": f"http://127.0.0.1:{free_port()}",
        **{config.env_name(n): f"http://127.0.0.1:{free_port()}" for n in SERVICES}})
    specs = [c for c in components.components() if c.kind == "service" and c.name in SERVICES]
    stack = Stack(home=home, components=[rabbit, components.HostSpec(specs), *specs])
    try:
        stack.up(timeout=300)
        assert wait_until(lambda: all(requests.get(config.url(n) + "/admin/bus").json()["connected"]
                                      for n in SERVICES if n not in ("payments", "carrier", "mailbox")), timeout=30)
        assert wait_until(lambda: requests.get(config.url("billing") + "/api/payments").status_code == 200
                          and _billing_registered(home), timeout=30)
        yield Flow(stack, rabbit)
    finally:
        stack.down()
        os.environ.clear()
        os.environ.update(saved)


def _billing_registered(home: Path) -> bool:
    return bool(requests.get(config.url("payments") + "/api/webhook_endpoints").json().get("data"))


@pytest.fixture
def shipped_order(flow: Flow) -> dict:
    order = flow.place()
    return flow.order_when(order["order_id"], lambda o: o["status"] == "shipped")
