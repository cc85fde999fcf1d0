"""Where every lab component is: one place for every address.

``LAB_<NAME>_URL`` environment variables override the defaults, so the same
notebook runs unchanged locally, under docker compose and in Binder::

    from labkit import url
    requests.get(url("shop") + "/api/products")
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

# Default loopback ports of the local stack. Change them with LAB_<NAME>_URL.
DEFAULT_PORTS: dict[str, int] = {
    "shop": 8001,
    "payments": 8002,
    "inspector": 8003,
}

HOST = "127.0.0.1"

# The brokers speak their own protocols, so their addresses are not http URLs:
# LAB_AMQP_URL (amqp://...), LAB_RABBITMQ_MANAGEMENT_URL (its HTTP API) and
# LAB_KAFKA_BOOTSTRAP (host:port, as Kafka clients take it).
DEFAULT_AMQP_URL = f"amqp://guest:guest@{HOST}:5672"  # no path: the default vhost "/"
DEFAULT_RABBITMQ_MANAGEMENT_PORT = 15672
DEFAULT_KAFKA_BOOTSTRAP = f"{HOST}:9092"


def lab_home() -> Path:
    """The lab's state folder (pids, logs, data): ``$LAB_HOME`` or ``~/.integration-lab``."""
    return Path(os.environ.get("LAB_HOME") or Path.home() / ".integration-lab")


def env_name(name: str) -> str:
    return f"LAB_{name.upper().replace('-', '_')}_URL"


def url(name: str) -> str:
    """Base URL of lab service ``name`` (no trailing slash)."""
    override = os.environ.get(env_name(name))
    if override:
        return override.rstrip("/")
    if name not in DEFAULT_PORTS:
        known = ", ".join(sorted(DEFAULT_PORTS))
        raise KeyError(f"No lab service is called {name!r}. Known services: {known}.")
    return f"http://{HOST}:{DEFAULT_PORTS[name]}"


def is_local(address: str) -> bool:
    """True when ``address`` points at this machine's loopback, where `lab up` runs the component."""
    host = urlsplit(address if "//" in address else f"//{address}").hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def port_of(address: str) -> int:
    parts = urlsplit(address if "//" in address else f"//{address}")
    return parts.port or (443 if parts.scheme == "https" else 80)


def amqp_url() -> str:
    """RabbitMQ's AMQP URL, for ``pika.URLParameters(amqp_url())``."""
    return os.environ.get("LAB_AMQP_URL") or DEFAULT_AMQP_URL


def rabbitmq_management_url() -> str:
    """RabbitMQ's management HTTP API base URL (same host as the AMQP URL unless set)."""
    override = os.environ.get("LAB_RABBITMQ_MANAGEMENT_URL")
    if override:
        return override.rstrip("/")
    host = urlsplit(amqp_url()).hostname or HOST
    return f"http://{host}:{DEFAULT_RABBITMQ_MANAGEMENT_PORT}"


def kafka_bootstrap() -> str:
    """Kafka's bootstrap address ``host:port``, for ``bootstrap_servers=kafka_bootstrap()``."""
    return os.environ.get("LAB_KAFKA_BOOTSTRAP") or DEFAULT_KAFKA_BOOTSTRAP
