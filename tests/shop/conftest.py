"""Fixtures for the shop's tests: an HTTP client for the session's shop, credentials, fresh resources.

Every test talks to the real service over HTTP (``shop_url`` from tests/conftest.py).
Tests create what they change, so they pass in any order and never touch the seed
rows other tests read.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.shop.shopapi import ADMIN, LECTURE_ORDER, MANAGER, Api, unique


@pytest.fixture(scope="session")
def api(shop_url: str) -> Api:
    return Api(shop_url)


@pytest.fixture(scope="module", autouse=True)
def generous_rate_limit(api: Api) -> Iterator[None]:
    """Lift the default 60/min so a module's many requests are not throttled; restored afterwards.

    The demo key keeps its own 5 per 10 s, which test_rate_limit.py uses.
    """
    assert api.put("/admin/rate-limit", json={"limit": 100_000, "window_s": 60}).status_code == 200
    yield
    assert api.delete("/admin/rate-limit").status_code == 204


@pytest.fixture
def new_user(api: Api) -> Callable[..., dict]:
    """Create a user with a unique username and email; extra fields override the defaults."""

    def create(**overrides: Any) -> dict:
        name = unique("user")
        body = {"username": name, "email": f"{name}@example.com", "name": "Тест Тестенко", **overrides}
        resp = api.post("/api/users", json=body, headers=ADMIN)
        assert resp.status_code == 201, resp.text
        return resp.json()

    return create


@pytest.fixture
def new_product(api: Api) -> Callable[..., dict]:
    """Create a product (electronics, 999 UAH, in stock) with a unique SKU."""

    def create(**overrides: Any) -> dict:
        body = {"title": "Тестовий товар", "category": "electronics", "price": 999,
                "sku": unique("T").upper().replace("_", "-"), **overrides}
        resp = api.post("/api/products", json=body, headers=MANAGER)
        assert resp.status_code == 201, resp.text
        return resp.json()

    return create


@pytest.fixture
def new_order(api: Api) -> Callable[..., dict]:
    """Place the lecture's order (customer 67890: 2 × ABC, 1 × XYZ)."""

    def create(body: dict | None = None) -> dict:
        resp = api.post("/api/orders", json=body or LECTURE_ORDER, headers=MANAGER)
        assert resp.status_code == 201, resp.text
        return resp.json()

    return create
