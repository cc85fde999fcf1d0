"""Broker fixtures: the session's real RabbitMQ and Kafka (tests/conftest.py ``lab_brokers``), and Tansu.

``kafka`` is parametrised: every test that takes it runs against Apache Kafka and
again against Tansu, the Kafka-compatible fallback broker.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import pika
import pytest

from labkit.brokers import KafkaSpec, RabbitMQSpec
from tests.brokers.session import running_tansu


@dataclass(frozen=True)
class KafkaUnderTest:
    impl: str  # "apache" or "tansu"
    spec: KafkaSpec

    @property
    def bootstrap(self) -> str:
        return self.spec.address

    @property
    def tansu(self) -> bool:
        return self.impl == "tansu"


@pytest.fixture(scope="session")
def rabbit(lab_brokers) -> RabbitMQSpec:
    """The session's RabbitMQ, at fixed addresses (tests may change the environment)."""
    return RabbitMQSpec(os.environ["LAB_AMQP_URL"], os.environ["LAB_RABBITMQ_MANAGEMENT_URL"],
                        os.environ["LAB_RABBITMQ_PROMETHEUS_URL"])


@pytest.fixture(scope="session")
def tansu_stack(tmp_path_factory: pytest.TempPathFactory):
    with running_tansu(tmp_path_factory.mktemp("tansu-home")) as stack:
        yield stack


@pytest.fixture(scope="session", params=["apache", "tansu"])
def kafka(request: pytest.FixtureRequest) -> KafkaUnderTest:
    if request.param == "tansu":
        [spec] = request.getfixturevalue("tansu_stack").components
        return KafkaUnderTest("tansu", spec)
    request.getfixturevalue("lab_brokers")
    return KafkaUnderTest("apache", KafkaSpec(os.environ["LAB_KAFKA_BOOTSTRAP"]))


@pytest.fixture
def kafka_env(kafka: KafkaUnderTest, monkeypatch: pytest.MonkeyPatch) -> KafkaUnderTest:
    """``kafka``, and LAB_KAFKA_BOOTSTRAP pointing at it (what notebooks and labkit helpers read)."""
    monkeypatch.setenv("LAB_KAFKA_BOOTSTRAP", kafka.bootstrap)
    return kafka


@contextmanager
def amqp_channel(url: str) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


@pytest.fixture
def channel(rabbit: RabbitMQSpec):
    with amqp_channel(rabbit.address) as ch:
        yield ch
