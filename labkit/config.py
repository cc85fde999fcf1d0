"""Where every lab component is: one place for every address.

``LAB_<NAME>_URL`` environment variables override the defaults, so the same
notebook runs unchanged locally, under docker compose and in Binder::

    from labkit import url
    requests.get(url("shop") + "/api/products")
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

# Re-exported: notebooks, the grader and the tests read every address from labkit.config.
from labservices.common.brokers import (DEFAULT_AMQP_URL, DEFAULT_KAFKA_BOOTSTRAP, amqp_url,  # noqa: F401
                                        kafka_bootstrap, smtp_url)
from labservices.common.declaration import HOST, instances, url_env
from labservices.common.paths import lab_home  # noqa: F401

# The process that runs every local HTTP service answers its control calls here (LAB_HOST_URL).
DEFAULT_HOST_URL = f"http://{HOST}:8090"


def default_ports() -> dict[str, int]:
    """Default loopback port of every declared service's every copy (``labservices/<name>/__init__.py``)."""
    return {i.name: i.default_port for i in instances()}


def __getattr__(name: str):
    if name == "DEFAULT_PORTS":  # read from the declarations every time: a test may add a service
        return default_ports()
    raise AttributeError(f"module 'labkit.config' has no attribute {name!r}")


# The brokers speak their own protocols, so their addresses are not http URLs:
# LAB_AMQP_URL (amqp://...), LAB_RABBITMQ_MANAGEMENT_URL (its HTTP API) and
# LAB_KAFKA_BOOTSTRAP (host:port, as Kafka clients take it).
DEFAULT_RABBITMQ_MANAGEMENT_PORT = 15672


def env_name(name: str) -> str:
    """The variable that moves a service elsewhere: ``LAB_SHOP_URL``."""
    return url_env(name)


def url(name: str) -> str:
    """Base URL of lab service ``name`` (no trailing slash)."""
    override = os.environ.get(env_name(name))
    if override:
        return override.rstrip("/")
    ports = default_ports()
    if name not in ports:
        raise KeyError(f"No lab service is called {name!r}. Known services: {', '.join(ports)}.")
    return f"http://{HOST}:{ports[name]}"


def host_url() -> str:
    """The control API of the process that runs every local lab service (``LAB_HOST_URL``)."""
    return (os.environ.get("LAB_HOST_URL") or DEFAULT_HOST_URL).rstrip("/")


def is_local(address: str) -> bool:
    """True when ``address`` points at this machine's loopback, where `lab up` runs the component."""
    host = urlsplit(address if "//" in address else f"//{address}").hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def port_of(address: str) -> int:
    parts = urlsplit(address if "//" in address else f"//{address}")
    return parts.port or (443 if parts.scheme == "https" else 80)


def rabbitmq_management_url() -> str:
    """RabbitMQ's management HTTP API base URL (same host as the AMQP URL unless set)."""
    override = os.environ.get("LAB_RABBITMQ_MANAGEMENT_URL")
    if override:
        return override.rstrip("/")
    host = urlsplit(amqp_url()).hostname or HOST
    return f"http://{host}:{DEFAULT_RABBITMQ_MANAGEMENT_PORT}"


