"""Where the brokers are, for services and notebooks alike: one place, light to import.

``LAB_AMQP_URL`` (RabbitMQ), ``LAB_KAFKA_BOOTSTRAP`` (Kafka) and ``LAB_SMTP_URL`` (the lab's
mail server) override the loopback defaults, so the same code runs locally, under compose and
in Binder.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from .declaration import HOST

DEFAULT_AMQP_URL = f"amqp://guest:guest@{HOST}:5672"  # no path: the default vhost "/"
DEFAULT_KAFKA_BOOTSTRAP = f"{HOST}:9092"
DEFAULT_SMTP_URL = f"smtp://{HOST}:1025"


def amqp_url() -> str:
    """RabbitMQ's AMQP URL (``pika.URLParameters(amqp_url())``, ``aio_pika.connect(amqp_url())``)."""
    return os.environ.get("LAB_AMQP_URL") or DEFAULT_AMQP_URL


def kafka_bootstrap() -> str:
    """Kafka's bootstrap address ``host:port``, for ``bootstrap_servers=kafka_bootstrap()``."""
    return os.environ.get("LAB_KAFKA_BOOTSTRAP") or DEFAULT_KAFKA_BOOTSTRAP


def smtp_url() -> str:
    """The lab's mail server (the mailbox service's SMTP side): ``smtp://host:port``."""
    return (os.environ.get("LAB_SMTP_URL") or DEFAULT_SMTP_URL).rstrip("/")


def smtp_address() -> tuple[str, int]:
    parts = urlsplit(smtp_url())
    return parts.hostname or HOST, parts.port or 25
