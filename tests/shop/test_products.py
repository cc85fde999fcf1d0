"""Products: the open catalogue with the lecture's filters and sorting, and its CRUD."""
from __future__ import annotations

import pytest

from tests.shop.shopapi import ADMIN, MANAGER, READER, error_code, fields, unique


def test_list_products_matches_the_lecture_example(api):
    resp = api.get("/api/products")
    assert resp.status_code == 200
    body = resp.json()
    assert body["data"][0] == {"id": 1, "sku": "EL-001", "title": "Ноутбук Dell XPS 15", "category": "electronics",
                               "price": 45000, "in_stock": True}
    assert body["data"][1]["title"] == "Монітор LG 27 inch" and body["data"][1]["price"] == 12000
    assert body["data"][1]["in_stock"] is False
    assert body["pagination"]["page"] == 1 and body["pagination"]["per_page"] == 20
    assert body["pagination"]["total"] >= 156


def test_lecture_filter_returns_cheap_electronics_by_price(api):
    resp = api.get("/api/products", params={"category": "electronics", "price_max": 1000, "sort": "price_asc"})
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert len(data) >= 10
    assert all(p["category"] == "electronics" and p["price"] <= 1000 for p in data)
    prices = [p["price"] for p in data]
    assert prices == sorted(prices)


def test_sort_price_desc_and_title(api):
    desc = [p["price"] for p in api.get("/api/products", params={"sort": "price_desc", "category": "books"}).json()["data"]]
    assert desc == sorted(desc, reverse=True)
    titles = [p["title"] for p in api.get("/api/products", params={"sort": "title", "category": "books"}).json()["data"]]
    assert titles == sorted(titles)


def test_unknown_sort_is_400_naming_the_choices(api):
    resp = api.get("/api/products", params={"sort": "cheapest"})
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    detail = resp.json()["error"]["details"][0]
    assert detail["field"] == "sort" and "price_asc" in detail["message"]


def test_filters_in_stock_and_price_range(api):
    data = api.get("/api/products", params={"in_stock": "false", "price_min": 1000, "price_max": 20000,
                                            "limit": 100}).json()["data"]
    assert data and all(not p["in_stock"] and 1000 <= p["price"] <= 20000 for p in data)


def test_search_by_title(api):
    data = api.get("/api/products", params={"q": "кобзар"}).json()["data"]
    assert [p["title"] for p in data] == ["«Кобзар» — Тарас Шевченко"]


@pytest.mark.parametrize("params, field", [
    ({"category": "toys"}, "category"),
    ({"price_max": "cheap"}, "price_max"),
    ({"price_min": -1}, "price_min"),
    ({"price_max": "nan"}, "price_max"),
    ({"price_min": 500, "price_max": 100}, "price_min"),
    ({"in_stock": "perhaps"}, "in_stock"),
    ({"q": "x" * 101}, "q"),
])
def test_bad_filters_are_400(api, params, field):
    resp = api.get("/api/products", params=params)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert fields(resp) == [field]


def test_get_product(api):
    resp = api.get("/api/products/2")
    assert resp.status_code == 200
    assert resp.json() == {"id": 2, "sku": "EL-002", "title": "Монітор LG 27 inch", "category": "electronics",
                           "price": 12000, "in_stock": False}


def test_unknown_product_is_404(api):
    resp = api.get("/api/products/987654")
    assert resp.status_code == 404
    assert error_code(resp) == "NOT_FOUND"


def test_create_product_returns_201_and_location(api):
    sku = unique("NEW").upper().replace("_", "-")
    resp = api.post("/api/products", json={"title": "Навушники Marshall Major IV", "category": "electronics",
                                           "price": 4999.5, "sku": sku.lower()}, headers=MANAGER)
    assert resp.status_code == 201
    product = resp.json()
    assert product == {"id": product["id"], "sku": sku, "title": "Навушники Marshall Major IV",
                       "category": "electronics", "price": 4999.5, "in_stock": True}
    assert resp.headers["Location"] == f"{api.base}/api/products/{product['id']}"
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_create_product_without_sku_gets_one(api):
    resp = api.post("/api/products", json={"title": "Чашка", "category": "furniture", "price": 99}, headers=MANAGER)
    assert resp.status_code == 201
    assert resp.json()["sku"] == f"P-{resp.json()['id']}"


def test_generated_sku_steps_around_one_a_client_chose(api, new_product):
    first = new_product(sku=None)
    new_product(sku=f"P-{first['id'] + 2}")  # takes id + 1 and squats on the SKU id + 2 would get
    third = new_product(sku=None)
    assert third["id"] == first["id"] + 2
    assert third["sku"] == f"P-{third['id']}-1"


def test_create_product_with_a_taken_sku_is_409(api):
    resp = api.post("/api/products", json={"title": "Дубль", "category": "electronics", "price": 1, "sku": "ABC"},
                    headers=MANAGER)
    assert resp.status_code == 409
    assert error_code(resp) == "CONFLICT"
    assert fields(resp) == ["sku"]


def test_create_product_anonymously_is_401_and_as_reader_is_403(api):
    body = {"title": "Ні", "category": "books", "price": 1}
    anonymous = api.post("/api/products", json=body)
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    reader = api.post("/api/products", json=body, headers=READER)
    assert reader.status_code == 403 and error_code(reader) == "FORBIDDEN"


@pytest.mark.parametrize("body, field", [
    ({"title": "", "category": "books", "price": 1}, "title"),
    ({"title": "Т" * 201, "category": "books", "price": 1}, "title"),
    ({"title": "Т", "category": "books", "price": 0}, "price"),
    ({"title": "Т", "category": "books", "price": "дешево"}, "price"),
    ({"title": "Т", "category": "books", "price": 1e12}, "price"),
    ({"title": "Т", "category": "books", "price": 1, "sku": "123"}, "sku"),
    ({"title": "Т", "category": "books", "price": 1, "colour": "red"}, "colour"),
    ({"category": "books", "price": 1}, "title"),
])
def test_create_product_with_bad_fields_is_400_and_creates_nothing(api, body, field):
    before = api.get("/api/products").json()["pagination"]["total"]
    resp = api.post("/api/products", json=body, headers=MANAGER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert field in fields(resp)
    assert api.get("/api/products").json()["pagination"]["total"] == before


def test_put_replaces_the_product(api, new_product):
    product = new_product()
    resp = api.put(f"/api/products/{product['id']}", json={"title": "Новий", "category": "books", "price": 150,
                                                           "in_stock": False}, headers=MANAGER)
    assert resp.status_code == 200
    assert resp.json() == {**product, "title": "Новий", "category": "books", "price": 150, "in_stock": False}


def test_put_without_in_stock_is_400_and_changes_nothing(api, new_product):
    product = new_product()
    resp = api.put(f"/api/products/{product['id']}", json={"title": "Новий", "category": "books", "price": 150},
                   headers=MANAGER)
    assert resp.status_code == 400
    assert fields(resp) == ["in_stock"]
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_patch_changes_only_the_price(api, new_product):
    product = new_product()
    resp = api.patch(f"/api/products/{product['id']}", json={"price": 11500}, headers=MANAGER)
    assert resp.status_code == 200
    assert resp.json() == {**product, "price": 11500}


def test_patch_with_wrong_types_is_400_and_changes_nothing(api, new_product):
    product = new_product()
    resp = api.patch(f"/api/products/{product['id']}", json={"price": [1], "in_stock": None}, headers=MANAGER)
    assert resp.status_code == 400
    assert sorted(fields(resp)) == ["in_stock", "price"]
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_patch_to_a_taken_sku_is_409_and_changes_nothing(api, new_product):
    product = new_product()
    resp = api.patch(f"/api/products/{product['id']}", json={"sku": "xyz"}, headers=MANAGER)
    assert resp.status_code == 409
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_delete_product_returns_204_then_404(api, new_product):
    product = new_product()
    resp = api.delete(f"/api/products/{product['id']}", headers=ADMIN)
    assert resp.status_code == 204 and resp.content == b""
    assert api.get(f"/api/products/{product['id']}").status_code == 404
    assert api.delete(f"/api/products/{product['id']}", headers=ADMIN).status_code == 404


def test_delete_product_as_reader_is_403_and_keeps_it(api, new_product):
    product = new_product()
    resp = api.delete(f"/api/products/{product['id']}", headers=READER)
    assert resp.status_code == 403
    assert api.get(f"/api/products/{product['id']}").status_code == 200


def test_products_open_endpoint_still_rejects_a_bad_key(api):
    resp = api.get("/api/products", headers={"X-API-Key": "stolen-key-000"})
    assert resp.status_code == 401
    assert error_code(resp) == "INVALID_API_KEY"
