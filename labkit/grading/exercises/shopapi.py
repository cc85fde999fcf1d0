"""The checker's own calls to the shop API, shared by ex01 and ex02.

Checks never trust the student's code to tell them what the shop holds: they ask
the shop themselves (anonymously for reads, as an OAuth client of their own for writes) and compare.
"""
from __future__ import annotations

import random
import re
import time

import requests

from ..exercise import CheckFailed, Context

READER_KEY = "abc123def456"  # the lecture's API key (GET /api/credentials)
CATEGORIES = ("electronics", "books", "furniture", "clothing")
# The checker writes as its own OAuth client, so its requests never use up the rate limit of the
# manager key the student's code uses; its reads are anonymous, which the shop does not count.
CHECKER_CLIENT = ("admin_app", "admin-secret")


def _checker_token(ctx: Context) -> str:
    if "shop_token" not in ctx.scratch:
        client_id, secret = CHECKER_CLIENT
        resp = requests.post(ctx.url("shop") + "/oauth/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
        resp.raise_for_status()
        ctx.scratch["shop_token"] = resp.json()["access_token"]
    return ctx.scratch["shop_token"]


def api(ctx: Context, method: str, path: str, *, auth: bool = False, **kwargs) -> requests.Response:
    """The checker's own request to the shop (``auth`` for writes); waits out a 429 like a good client.

    Anonymous catalogue reads are never limited; a call with a key of its own (``headers=``) may be.
    """
    headers = {"Authorization": f"Bearer {_checker_token(ctx)}"} if auth else {}
    headers.update(kwargs.pop("headers", {}))
    for _ in range(3):
        resp = requests.request(method, ctx.url("shop") + path, headers=headers, timeout=10, **kwargs)
        if resp.status_code != 429:
            break
        time.sleep(min(int(resp.headers.get("Retry-After", "1")), 10))
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
    resp = api(ctx, "POST", "/api/products", json=data, auth=True)
    resp.raise_for_status()
    return resp.json()


def remove_made(ctx: Context) -> None:
    """Teardown: delete every product this run made, the checker's and the student's code's alike.

    Each has ``ctx.token`` in its title (:meth:`Context.unique`), so the student's shop holds the
    same products after ``check()`` as before it, and nothing a student made by hand is touched.
    """
    mark = f"-{ctx.token}-"
    for product in all_pages(ctx):
        if mark in str(product.get("title", "")):
            api(ctx, "DELETE", f"/api/products/{product['id']}", auth=True)


def absent_id(ctx: Context) -> int:
    """An id no product has: one just created and deleted."""
    product = new_product(ctx)
    api(ctx, "DELETE", f"/api/products/{product['id']}", auth=True)
    return product["id"]


def answered(ctx: Context, route: str, method: str = "[A-Z]+", status: str = r"\d+") -> float:
    """How many requests the shop has answered (its ``/metrics``) on ``route``, a regular expression over the
    route's template (``/api/products/\\{product_id\\}``), with that method and status: what a client really sent."""
    text = api(ctx, "GET", "/metrics").text
    # Label values may hold braces (a route's {product_id}): look along the line, not up to the first "}".
    pattern = (rf'^http_requests_total\{{(?=[^\n]*method="{method}")(?=[^\n]*route="{route}")'
               rf'(?=[^\n]*status="{status}")[^\n]*\}} (\S+)$')
    return sum(float(m) for m in re.findall(pattern, text, re.MULTILINE))
