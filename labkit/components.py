"""What the stack runs: each component declared as a small spec.

A component knows its address, how to start itself as a local process, how to
tell it is ready and how to restore its seed data; the stack does the rest
(state, health waiting, stopping). Adding a service is one entry in COMPONENTS.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from . import config
from .brokers import KAFKA, RABBITMQ
from .procs import http_ok


@dataclass(frozen=True)
class ServiceSpec:
    """A lab FastAPI service run by uvicorn on a loopback port."""

    name: str
    app: str  # "package.module:attribute"
    env_prefix: str  # prefix of the service's own settings, e.g. "SHOP_"
    teaches: str
    notebooks: str = ""
    kind: str = field(default="service", init=False)

    @property
    def address(self) -> str:
        return config.url(self.name)

    @property
    def external(self) -> bool:
        """Running elsewhere (compose, another host): the stack only checks it."""
        return not config.is_local(self.address)

    def command(self) -> list[str]:
        port = config.port_of(self.address)
        return [
            sys.executable, "-m", "uvicorn", self.app,
            "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning",
            "--timeout-graceful-shutdown", "2",
        ]

    def environment(self, home: Path) -> dict[str, str]:
        return {
            f"{self.env_prefix}DB_PATH": str(home / "data" / f"{self.name}.sqlite3"),
            f"{self.env_prefix}PUBLIC_URL": self.address,
            "LAB_HOME": str(home),
        }

    def ready(self) -> bool:
        return http_ok(self.address + "/health")

    def identify(self) -> str | None:
        """The service name a listener on our port reports, if it is a lab service."""
        try:
            body = requests.get(self.address + "/health", timeout=1).json()
        except (requests.RequestException, ValueError):
            return None
        return body.get("service") if isinstance(body, dict) else None

    def reset(self) -> None:
        resp = requests.post(self.address + "/admin/reset", timeout=10)
        resp.raise_for_status()

    def describe(self) -> dict[str, str]:
        return {"url": self.address}


# Brokers first: they take longest to start, and services may publish to them.
COMPONENTS: list = [
    RABBITMQ,
    KAFKA,
    ServiceSpec(
        name="shop",
        app="labservices.shop.main:app",
        env_prefix="SHOP_",
        teaches="REST: methods, status codes, pagination, auth (API key, Basic, OAuth2/JWT), errors, versions",
        notebooks="00, 01, 02; ex01, ex02",
    ),
    ServiceSpec(
        name="payments",
        app="labservices.payments.main:app",
        env_prefix="PAYMENTS_",
        teaches="Webhooks: signed deliveries (HMAC, Standard Webhooks), retries on a schedule, idempotency",
        notebooks="03; ex04, ex05",
    ),
    ServiceSpec(
        name="inspector",
        app="labservices.inspector.main:app",
        env_prefix="INSPECTOR_",
        teaches="Webhooks: a local webhook.site to capture, answer and replay requests",
        notebooks="03",
    ),
]


def by_name(name: str) -> ServiceSpec:
    for comp in COMPONENTS:
        if comp.name == name:
            return comp
    known = ", ".join(c.name for c in COMPONENTS)
    raise KeyError(f"No lab component is called {name!r}. Known components: {known}.")
