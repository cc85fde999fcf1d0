"""The checker's own calls to the shop API, shared by ex01 and ex02.

Checks never trust the student's code to tell them what the shop holds: they ask
the shop themselves (with the sandbox's manager key) and compare.
"""
from __future__ import annotations

import random

import requests

from ..exercise import CheckFailed, Context

MANAGER_KEY = "manager-key-456"  # the sandbox's published manager key (GET /api/credentials)
READER_KEY = "abc123def456"
CATEGORIES = ("electronics", "books", "furniture", "clothing")


def api(ctx: Context, method: str, path: str, *, auth: bool = True, **kwargs) -> requests.Response:
    headers = {"X-API-Key": MANAGER_KEY} if auth else {}
    headers.update(kwargs.pop("headers", {}))
    resp = requests.request(method, ctx.url("shop") + path, headers=headers, timeout=10, **kwargs)
    if resp.status_code >= 500:
        raise CheckFailed("відповідь магазину", f"{resp.status_code} {resp.text[:100]}",
                          "Магазин відповів помилкою сервера; перевірте `lab status` і спробуйте ще раз.")
    return resp


def all_pages(ctx: Context, params: dict | None = None) -> list[dict]:
    """Every product matching ``params``, by walking the pages."""
    items, page = [], 1
    while True:
        body = api(ctx, "GET", "/api/products", params={**(params or {}), "page": page, "per_page": 100}).json()
        items += body["data"]
        if page >= body["pagination"]["total_pages"]:
            return items
        page += 1


def new_product(ctx: Context, category: str | None = None) -> dict:
    """A product created by the checker with a title nobody can guess."""
    data = {"title": f"Товар {ctx.unique('p')}", "category": category or random.choice(CATEGORIES),
            "price": round(random.uniform(10, 5000), 2)}
    resp = api(ctx, "POST", "/api/products", json=data)
    resp.raise_for_status()
    return resp.json()


def absent_id(ctx: Context) -> int:
    """An id no product has: one just created and deleted."""
    product = new_product(ctx)
    api(ctx, "DELETE", f"/api/products/{product['id']}")
    return product["id"]
