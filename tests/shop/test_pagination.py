"""Pagination: the lecture's envelope, RFC 8288 Link headers, bounded page sizes, pages past the end."""
from __future__ import annotations

import re

from tests.shop.shopapi import READER, error_code, fields


def _links(resp) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;\s*rel="(\w+)"', resp.headers["Link"])}


def test_products_page_1_is_the_lectures_pagination(api):
    resp = api.get("/api/products", params={"page": 1, "per_page": 20})
    pagination = resp.json()["pagination"]
    assert pagination["page"] == 1 and pagination["per_page"] == 20
    assert pagination["total_pages"] == -(-pagination["total"] // 20)
    assert resp.headers["X-Total-Count"] == str(pagination["total"])


def test_link_header_has_first_next_last_and_absolute_urls(api):
    resp = api.get("/api/products", params={"category": "books", "limit": 10})
    links = _links(resp)
    assert set(links) == {"first", "next", "last"}
    assert links["next"].startswith(api.base + "/api/products?") and "category=books" in links["next"]
    assert "page=2" in links["next"] and "limit=10" in links["next"]


def test_following_next_walks_every_item_once(api):
    seen, url = [], f"{api.base}/api/products?category=books&limit=15"
    while url:
        resp = api.session.get(url, timeout=10)
        seen += [p["id"] for p in resp.json()["data"]]
        url = _links(resp).get("next")
    total = api.get("/api/products", params={"category": "books"}).json()["pagination"]["total"]
    assert len(seen) == len(set(seen)) == total


def test_middle_page_has_prev(api):
    links = _links(api.get("/api/orders", params={"page": 2, "limit": 20}, headers=READER))
    assert set(links) == {"first", "prev", "next", "last"}
    assert "page=1" in links["prev"]


def test_page_beyond_the_last_is_empty_but_correct(api):
    resp = api.get("/api/products", params={"page": 500, "limit": 100})
    assert resp.status_code == 200
    body = resp.json()
    assert body["data"] == []
    assert body["pagination"]["page"] == 500 and body["pagination"]["total_pages"] < 500
    assert "next" not in _links(resp)


def test_limit_over_100_is_400_not_clamped(api):
    resp = api.get("/api/products", params={"limit": 101})
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert fields(resp) == ["limit"]


def test_limit_and_per_page_must_agree(api):
    assert api.get("/api/products", params={"limit": 10, "per_page": 10}).status_code == 200
    resp = api.get("/api/products", params={"limit": 10, "per_page": 20})
    assert resp.status_code == 400
    assert fields(resp) == ["per_page"]


def test_empty_result_has_zero_pages(api):
    body = api.get("/api/products", params={"q": "немає-такого-товару"}).json()
    assert body == {"data": [], "pagination": {"page": 1, "per_page": 20, "total": 0, "total_pages": 0}}
