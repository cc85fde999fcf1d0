"""Fixtures for the payments service's tests: the service on a compressed schedule, receivers, helpers.

The service runs for real (uvicorn, its own SQLite) with ``PAYMENTS_RETRY_TIME_SCALE=0.001``,
so the lecture's 1 min, 5 min, 15 min, 1 h become 0.06 s, 0.3 s, 0.9 s and 3.6 s.
"""
from __future__ import annotations

from typing import Callable, Iterator

import pytest
import requests

from labkit.procs import wait_until
from tests.conftest import running_service
from tests.payments.receiver import Receiver

TIME_SCALE = 0.001


@pytest.fixture(scope="package")
def payments_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a payments service started for this test session, on a compressed schedule."""
    env = {"PAYMENTS_RETRY_TIME_SCALE": str(TIME_SCALE), "PAYMENTS_DELIVERY_TIMEOUT_S": "2"}
    with running_service("payments", tmp_path_factory.mktemp("payments"), env) as address:
        yield address


class Pay:
    """``requests`` against the payments service: paths instead of URLs, a timeout on every call."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def endpoint(self, url: str, events: list[str] | None = None, **extra) -> dict:
        resp = self.post("/api/webhook_endpoints", json={"url": url, "enabled_events": events or ["*"], **extra})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def trigger(self, event: str = "payment_intent.succeeded", **extra) -> dict:
        resp = self.post("/api/triggers", json={"event": event, **extra})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def deliveries(self, **params) -> list[dict]:
        resp = self.get("/api/deliveries", params={"limit": 100, **params})
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]

    def delivery_when(self, predicate: Callable[[dict], bool], timeout: float = 10.0, **params) -> dict:
        """The one delivery matching ``params`` once ``predicate`` holds for it (bounded poll)."""
        seen: dict = {}

        def ready() -> bool:
            found = self.deliveries(**params)
            if len(found) == 1:
                seen["d"] = found[0]
                return predicate(found[0])
            return False

        assert wait_until(ready, timeout=timeout, interval=0.02), f"no delivery matching {params}: {seen}"
        return seen["d"]


@pytest.fixture(scope="package")
def pay(payments_url: str) -> Pay:
    return Pay(payments_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on a free port that answers 200 until told otherwise."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def endpoint(pay: Pay, receiver: Receiver) -> Iterator[dict]:
    """An endpoint for every event type pointing at ``receiver``, deleted afterwards."""
    created = pay.endpoint(receiver.url)
    yield created
    pay.delete(f"/api/webhook_endpoints/{created['id']}")
