"""The microservices lab for its tests: notebook 05's services in one host, on a RabbitMQ vhost of their own.

The session's RabbitMQ gets a fresh virtual host, so these services' queues (orders.events,
catalog.events...) never meet those of the whole-lab stack the notebooks use. Timings are
shortened (breaker reset 2 s, registry checks every 0.5 s, registrations live 3 s) so failure
and recovery show within a test.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import requests

from labkit import config
from labkit.procs import wait_until
from labkit.stack import Stack
from tests.conftest import running_host, wait_for  # noqa: F401 (the tests import it from here)

SERVICES = ["gateway", "users", "catalog", "catalog-2", "registry", "saga", "orders", "payments", "billing",
            "shipping", "carrier"]
WITH_BUS = ("orders", "billing", "shipping", "catalog", "catalog-2")
CUSTOMER = {"name": "Олена Коваленко", "email": "olena@example.com"}
SETTINGS = {
    "LAB_DISCOVERY_TTL_S": "3", "REGISTRY_CHECK_INTERVAL_S": "0.5", "REGISTRY_CHECK_TIMEOUT_S": "2",
    "ORDERS_BREAKER_RESET_S": "2", "ORDERS_CATALOG_TIMEOUT_S": "2", "GATEWAY_BREAKER_RESET_S": "2",
    "SAGA_BACKOFF_S": "0.05", "LAB_EVENT_RETRY_SCALE": "0.02", "PAYMENTS_RETRY_TIME_SCALE": "0.001",
}


@dataclass
class Micro:
    stack: Stack

    def url(self, name: str) -> str:
        return config.url(name)

    def call(self, method: str, name: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.url(name) + path, **kwargs)

    def get(self, name: str, path: str, **kwargs) -> requests.Response:
        return self.call("GET", name, path, **kwargs)

    def post(self, name: str, path: str, **kwargs) -> requests.Response:
        return self.call("POST", name, path, **kwargs)

    def token(self, email: str = "olena@example.com", password: str = "lab-password") -> dict[str, str]:
        resp = self.post("gateway", "/api/auth/login", json={"email": email, "password": password})
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def chaos(self, name: str, **switches) -> None:
        if switches:
            assert requests.put(self.url(name) + "/admin/chaos", json=switches, timeout=10).status_code == 200
        else:
            assert requests.delete(self.url(name) + "/admin/chaos", timeout=10).status_code == 204

    def stock(self, product_id: str) -> dict:
        return self.get("catalog", f"/api/products/{product_id}").json()

    def set_stock(self, product_id: str, stock: int) -> None:
        resp = requests.put(self.url("catalog") + f"/api/products/{product_id}/stock", json={"stock": stock},
                            timeout=10)
        assert resp.status_code == 200, resp.text

    def registered(self, service: str) -> list[str]:
        resp = self.get("registry", f"/api/services/{service}")
        return [i["instance_id"] for i in resp.json()] if resp.status_code == 200 else []

    def saga(self, items: list[dict] | None = None, wait: float = 20, **extra: Any) -> dict:
        body = {"customer": CUSTOMER, "items": items or [{"product_id": "ABC", "quantity": 1}], **extra}
        resp = self.post("saga", f"/api/sagas?wait={wait}", json=body)
        assert resp.status_code in (201, 202), resp.text
        return resp.json()

    def place_sync(self, items: list[dict] | None = None, **kwargs) -> requests.Response:
        body = {"customer": {**CUSTOMER, "email": f"c{secrets.token_hex(3)}@example.com"},
                "items": items or [{"sku": "ABC", "quantity": 1}]}
        return self.post("orders", "/api/orders/sync", json=body, **kwargs)

    def everyone_registered(self) -> bool:
        return len(self.registered("catalog")) == 2 and bool(self.registered("users")) and bool(self.registered("saga"))

    def breaker(self, name: str, breaker: str) -> dict:
        return next(b for b in self.get(name, "/admin/breakers").json() if b["name"] == breaker)

    def reset_breakers(self) -> None:
        for name in ("orders", "gateway"):
            for b in self.get(name, "/admin/breakers").json():
                self.post(name, f"/admin/breakers/{b['name']}/reset")


@pytest.fixture(scope="package")
def micro(lab_brokers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Micro]:
    """Notebook 05's services in one host, on a RabbitMQ virtual host of their own (running_host's private bus)."""
    with running_host(list(SERVICES), tmp_path_factory.mktemp("micro-home"), SETTINGS) as stack:
        assert wait_until(lambda: all(requests.get(config.url(n) + "/admin/bus").json()["connected"]
                                      for n in WITH_BUS), timeout=30), "the services never reached the bus"
        micro = Micro(stack)
        assert wait_until(micro.everyone_registered, timeout=20), "the services never registered"
        yield micro
        loop = requests.get(os.environ["LAB_HOST_URL"] + "/loop", timeout=10).json()
        assert loop["blocked"] == 0, f"a handler blocked the shared event loop: {loop['blocks'][:3]}"


@pytest.fixture(autouse=True)
def calm(micro: Micro) -> Iterator[None]:
    """Every test starts and ends with no chaos and closed breakers, every service up."""
    yield
    for name in SERVICES:
        if name in (c.name for c in micro.stack.components):
            try:
                requests.delete(config.url(name) + "/admin/chaos", timeout=5)
            except requests.RequestException:
                micro.stack.start(name)
    micro.reset_breakers()
    assert wait_until(micro.everyone_registered, timeout=20), "a service never came back to the registry"
