"""Customers and their orders: the lecture's nested URLs."""
from __future__ import annotations

from tests.shop.shopapi import MANAGER, READER, error_code


def test_list_customers(api):
    resp = api.get("/api/customers", headers=READER)
    assert resp.status_code == 200
    ids = [c["id"] for c in resp.json()["data"]]
    assert 123 in ids and 67890 in ids
    assert resp.json()["pagination"]["total"] == len(ids)


def test_list_customers_by_city(api):
    data = api.get("/api/customers", params={"city": "Київ"}, headers=READER).json()["data"]
    assert data and all(c["city"] == "Київ" for c in data)


def test_get_customer_123(api):
    resp = api.get("/api/customers/123", headers=READER)
    assert resp.status_code == 200
    assert resp.json()["name"] == "Олександр Коваль"


def test_customer_orders_include_order_456(api):
    resp = api.get("/api/customers/123/orders", params={"limit": 100}, headers=READER)
    assert resp.status_code == 200
    orders = resp.json()["data"]
    assert 456 in [o["id"] for o in orders]
    assert all(o["customer_id"] == 123 for o in orders)


def test_get_customer_order_456(api):
    resp = api.get("/api/customers/123/orders/456", headers=READER)
    assert resp.status_code == 200
    assert resp.json()["id"] == 456 and resp.json()["customer_id"] == 123


def test_another_customers_order_is_404(api):
    resp = api.get("/api/customers/124/orders/456", headers=READER)
    assert resp.status_code == 404
    assert error_code(resp) == "NOT_FOUND"


def test_unknown_customer_is_404(api):
    for path in ("/api/customers/999", "/api/customers/999/orders", "/api/customers/999/orders/456"):
        resp = api.get(path, headers=READER)
        assert resp.status_code == 404, path
        assert error_code(resp) == "NOT_FOUND"


def test_create_customer_order_returns_201_and_nested_location(api):
    resp = api.post("/api/customers/123/orders", json={"items": [{"product_id": "ABC", "quantity": 2}]}, headers=MANAGER)
    assert resp.status_code == 201
    order = resp.json()
    assert order["customer_id"] == 123
    assert resp.headers["Location"] == f"{api.base}/api/customers/123/orders/{order['id']}"
    assert api.get(f"/api/customers/123/orders/{order['id']}", headers=READER).json() == order


def test_create_order_for_an_unknown_customer_is_404(api):
    resp = api.post("/api/customers/999/orders", json={"items": [{"product_id": "ABC", "quantity": 1}]}, headers=MANAGER)
    assert resp.status_code == 404


def test_customer_order_body_may_not_name_another_customer(api):
    resp = api.post("/api/customers/123/orders", json={"customer_id": 124, "items": [{"product_id": "ABC", "quantity": 1}]},
                    headers=MANAGER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"


def test_customers_need_credentials(api):
    resp = api.get("/api/customers")
    assert resp.status_code == 401
    assert error_code(resp) == "UNAUTHORIZED"
