"""Notebook 05's services for the labkit helpers that drive them (labkit.micro, labkit.panel), without brokers.

The broker addresses point at closed ports: the services run (their buses wait to connect), and
nothing here reaches a RabbitMQ or Kafka that another session may be running on the default ports.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from labkit.procs import free_port, wait_until
from tests.conftest import running_host

MICRO = ["gateway", "users", "registry", "catalog", "catalog-2", "orders", "saga", "payments", "shipping", "carrier"]


@pytest.fixture(scope="package")
def micro_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The services up in one host, registered with the registry; yields the Stack."""
    import requests

    from labkit.config import url

    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    env = {"LAB_AMQP_URL": f"amqp://guest:guest@{closed}", "LAB_KAFKA_BOOTSTRAP": closed,
           "LAB_RABBITMQ_MANAGEMENT_URL": f"http://{closed}", "LAB_SMTP_URL": f"smtp://{closed}",
           "LAB_DISCOVERY_TTL_S": "3", "REGISTRY_CHECK_INTERVAL_S": "0.5", "ORDERS_BREAKER_RESET_S": "1"}
    with running_host(MICRO, tmp_path_factory.mktemp("micro-lab"), env) as stack:
        def registered() -> bool:
            found = requests.get(url("registry") + "/api/services", timeout=5).json()
            return len(found.get("catalog", [])) == 2 and "users" in found and "saga" in found
        assert wait_until(registered, timeout=20), "the services never registered"
        yield stack
