"""The brokers a test session runs: real RabbitMQ and Kafka (and Tansu), started by the Stack on free ports.

Used by the session fixtures in tests/conftest.py (``lab_brokers``, which ``lab_stack``
shares) and tests/brokers/conftest.py (``tansu``).
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from labkit.brokers import KAFKA, RABBITMQ, KafkaSpec
from labkit.brokers.rabbitmq import server_script
from labkit.procs import free_port
from labkit.stack import Stack, StackError

# The first run on a fresh machine may install RabbitMQ and fetch Kafka's jars inside `up`.
UP_TIMEOUT = 300


def free_broker_env() -> dict[str, str]:
    """Broker addresses on free loopback ports, as the environment variables that name them."""
    return {
        "LAB_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}",
        "LAB_RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{free_port()}",
        "LAB_RABBITMQ_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
        "LAB_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}",  # the mailbox's SMTP side: never another run's
    }


def _up(stack: Stack) -> None:
    try:
        stack.up(timeout=UP_TIMEOUT)
    except StackError as exc:
        stack.down()
        pytest.fail(f"the test session could not start its brokers:\n{exc}", pytrace=False)


@contextmanager
def running_brokers(home: Path) -> Iterator[Stack]:
    """RabbitMQ and Kafka up in state folder ``home``; their addresses and LAB_HOME in ``os.environ``."""
    if not server_script() and not (os.geteuid() == 0 and shutil.which("apt-get")):
        pytest.skip("RabbitMQ is not installed and cannot be installed here (needs root and apt-get): "
                    "install rabbitmq-server to run the broker tests")
    saved = dict(os.environ)
    os.environ.update(free_broker_env())
    os.environ["LAB_HOME"] = str(home)
    stack = Stack(home=home, components=[RABBITMQ, KAFKA])
    try:
        _up(stack)
        yield stack
    finally:
        stack.down()
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def running_tansu(home: Path) -> Iterator[Stack]:
    """Tansu, the Kafka-compatible broker, up in its own state folder (its address is the spec's, not the env's)."""
    spec = KafkaSpec(address=f"127.0.0.1:{free_port()}", impl="tansu")
    stack = Stack(home=home, components=[spec])
    try:
        _up(stack)
        yield stack
    finally:
        stack.down()
