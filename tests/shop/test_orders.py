"""Orders: the lecture's filters, POST body and DELETE, status changes, and bad bodies that change nothing."""
from __future__ import annotations

import pytest

from tests.shop.shopapi import LECTURE_ORDER, MANAGER, READER, error_code, fields


def _count(api, **params) -> int:
    return int(api.get("/api/orders", params={"limit": 1, **params}, headers=READER).headers["X-Total-Count"])


def test_lecture_query_has_a_real_page_2(api):
    resp = api.get("/api/orders", params={"status": "pending", "created_after": "2024-01-01", "page": 2, "limit": 20},
                   headers=READER)
    assert resp.status_code == 200
    body = resp.json()
    assert body["pagination"]["page"] == 2 and body["pagination"]["per_page"] == 20
    assert body["pagination"]["total"] > 20 and body["pagination"]["total_pages"] >= 2
    assert body["data"]
    assert all(o["status"] == "pending" and o["created_at"] >= "2024-01-01" for o in body["data"])


def test_per_page_is_an_alias_of_limit(api):
    by_limit = api.get("/api/orders", params={"limit": 7}, headers=READER).json()
    by_per_page = api.get("/api/orders", params={"per_page": 7}, headers=READER).json()
    assert by_limit == by_per_page and len(by_limit["data"]) == 7


def test_orders_list_needs_credentials(api):
    resp = api.get("/api/orders")
    assert resp.status_code == 401
    assert "WWW-Authenticate" in resp.headers


def test_filters_by_date_range_and_customer(api):
    data = api.get("/api/orders", params={"created_after": "2023-03-01", "created_before": "2023-04-01",
                                          "limit": 100}, headers=READER).json()["data"]
    assert data and all("2023-03-01" <= o["created_at"] < "2023-04-01" for o in data)
    mine = api.get("/api/orders", params={"customer_id": 123, "limit": 100}, headers=READER).json()["data"]
    assert mine and all(o["customer_id"] == 123 for o in mine)


def test_get_lecture_order_98765(api):
    resp = api.get("/api/orders/98765", headers=READER)
    assert resp.status_code == 200
    order = resp.json()
    assert order["customer_id"] == 67890
    assert [(i["sku"], i["quantity"]) for i in order["items"]] == [("ABC", 2), ("XYZ", 1)]
    assert order["total"] == sum(i["line_total"] for i in order["items"]) and order["currency"] == "UAH"


def test_create_order_returns_201_and_location(api):
    resp = api.post("/api/orders", json=LECTURE_ORDER, headers=MANAGER)
    assert resp.status_code == 201
    order = resp.json()
    assert order["customer_id"] == 67890 and order["status"] == "pending"
    assert order["items"] == [
        {"product_id": 3, "sku": "ABC", "title": "Бездротова миша Logitech M185", "quantity": 2, "unit_price": 549,
         "line_total": 1098},
        {"product_id": 4, "sku": "XYZ", "title": "Клавіатура Logitech K120", "quantity": 1, "unit_price": 699,
         "line_total": 699},
    ]
    assert order["total"] == 1797
    assert resp.headers["Location"] == f"{api.base}/api/orders/{order['id']}"
    assert api.get(f"/api/orders/{order['id']}", headers=READER).json() == order


def test_create_order_accepts_numeric_ids(api):
    resp = api.post("/api/orders", json={"customer_id": 123, "items": [{"product_id": 1, "quantity": 1},
                                                                       {"product_id": "5", "quantity": 1}]},
                    headers=MANAGER)
    assert resp.status_code == 201
    assert [i["product_id"] for i in resp.json()["items"]] == [1, 5]


def test_unknown_product_is_400_pointing_at_the_item(api):
    before = _count(api)
    resp = api.post("/api/orders", json={"customer_id": "67890", "items": [{"product_id": "ABC", "quantity": 1},
                                                                           {"product_id": "NOPE", "quantity": 1}]},
                    headers=MANAGER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert fields(resp) == ["items[1].product_id"]
    assert _count(api) == before


def test_out_of_stock_product_is_409(api):
    before = _count(api)
    resp = api.post("/api/orders", json={"customer_id": 67890, "items": [{"product_id": 2, "quantity": 1}]},
                    headers=MANAGER)
    assert resp.status_code == 409
    assert error_code(resp) == "OUT_OF_STOCK"
    assert fields(resp) == ["items[0].product_id"]
    assert _count(api) == before


def test_unknown_customer_is_400(api):
    resp = api.post("/api/orders", json={"customer_id": 555555, "items": [{"product_id": "ABC", "quantity": 1}]},
                    headers=MANAGER)
    assert resp.status_code == 400
    assert fields(resp) == ["customer_id"]


@pytest.mark.parametrize("body, field", [
    ({"customer_id": 67890, "items": []}, "items"),
    ({"customer_id": 67890}, "items"),
    ({"customer_id": 67890, "items": [{"product_id": "ABC", "quantity": 0}]}, "items[0].quantity"),
    ({"customer_id": 67890, "items": [{"product_id": "ABC", "quantity": 10_000}]}, "items[0].quantity"),
    ({"customer_id": 67890, "items": [{"product_id": "ABC", "quantity": "два"}]}, "items[0].quantity"),
    ({"customer_id": 67890, "items": [{"product_id": True, "quantity": 1}]}, "items[0].product_id"),
    ({"customer_id": 67890, "items": [{"product_id": -3, "quantity": 1}]}, "items[0].product_id"),
    ({"customer_id": 67890, "items": [{"product_id": "A" * 33, "quantity": 1}]}, "items[0].product_id"),
    ({"customer_id": 67890, "items": [{"product_id": "ABC", "quantity": 1, "discount": 50}]}, "items[0].discount"),
    ({"customer_id": 2**64, "items": [{"product_id": "ABC", "quantity": 1}]}, "customer_id"),
    ({"customer_id": "шістдесят", "items": [{"product_id": "ABC", "quantity": 1}]}, "customer_id"),
    ({"customer_id": 67890, "items": [{"product_id": "ABC", "quantity": 1}] * 51}, "items"),
])
def test_bad_order_bodies_are_400_and_create_nothing(api, body, field):
    before = _count(api)
    resp = api.post("/api/orders", json=body, headers=MANAGER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert field in fields(resp)
    assert _count(api) == before


def test_create_order_as_reader_is_403(api):
    resp = api.post("/api/orders", json=LECTURE_ORDER, headers=READER)
    assert resp.status_code == 403
    assert error_code(resp) == "FORBIDDEN"


def test_patch_moves_an_order_along(api, new_order):
    order = new_order()
    paid = api.patch(f"/api/orders/{order['id']}", json={"status": "paid"}, headers=MANAGER)
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    shipped = api.patch(f"/api/orders/{order['id']}", json={"status": "shipped"}, headers=MANAGER)
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    assert shipped.json()["items"] == order["items"]


def test_patch_to_the_same_status_is_a_no_op(api, new_order):
    order = new_order()
    resp = api.patch(f"/api/orders/{order['id']}", json={"status": "pending"}, headers=MANAGER)
    assert resp.status_code == 200
    assert resp.json() == order


def test_patch_backwards_is_409_and_changes_nothing(api, new_order):
    order = new_order()
    api.patch(f"/api/orders/{order['id']}", json={"status": "cancelled"}, headers=MANAGER)
    resp = api.patch(f"/api/orders/{order['id']}", json={"status": "paid"}, headers=MANAGER)
    assert resp.status_code == 409
    assert error_code(resp) == "INVALID_STATUS_TRANSITION"
    assert fields(resp) == ["status"]
    assert api.get(f"/api/orders/{order['id']}", headers=READER).json()["status"] == "cancelled"


@pytest.mark.parametrize("body", [{"status": "lost"}, {}, {"status": "paid", "total": 0}, {"status": None}])
def test_patch_with_a_bad_body_is_400_and_changes_nothing(api, new_order, body):
    order = new_order()
    resp = api.patch(f"/api/orders/{order['id']}", json=body, headers=MANAGER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert api.get(f"/api/orders/{order['id']}", headers=READER).json() == order


def test_delete_order_returns_204_then_404(api, new_order):
    order = new_order()
    resp = api.delete(f"/api/orders/{order['id']}", headers=MANAGER)
    assert resp.status_code == 204 and resp.content == b""
    assert api.get(f"/api/orders/{order['id']}", headers=READER).status_code == 404
    again = api.delete(f"/api/orders/{order['id']}", headers=MANAGER)
    assert again.status_code == 404 and error_code(again) == "NOT_FOUND"


def test_unknown_order_is_404(api):
    assert api.get("/api/orders/1", headers=READER).status_code == 404
    assert api.patch("/api/orders/1", json={"status": "paid"}, headers=MANAGER).status_code == 404
