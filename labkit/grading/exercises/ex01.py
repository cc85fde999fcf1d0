"""ex01: a REST client for the shop: filters, all pages, create (201 + Location), PATCH, DELETE, 404.

The student writes plain functions; each check calls them with inputs it picks at
random (a category, a price bound, products it has just created) and compares what
they return with what the checker itself reads from the shop.
"""
from __future__ import annotations

import random

from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, expect_type, short
from ..student import StudentError
from ...ukrainian import count
from .shopapi import CATEGORIES, absent_id, all_pages, answered, api, new_product, remove_made

PRODUCTS = ("товар", "товари", "товарів")


def check_find_products(ctx: Context) -> None:
    # A bound that keeps 3..19 products (under one default page of 20) and leaves out at least one, so a
    # function that drops price_max never passes by chance, whatever products other runs added at low prices.
    bounds = {}
    for category in random.sample(CATEGORIES, len(CATEGORIES)):
        prices = [p["price"] for p in all_pages(ctx, {"category": category})]
        kept = {price: sum(1 for q in prices if q <= price) for price in set(prices)}
        candidates = sorted(price for price, n in kept.items() if 3 <= n <= 19 and n < len(prices))
        if candidates:
            bounds[category] = candidates
            break
    if not bounds:
        raise RuntimeError("the shop has no category where a price bound keeps 3..19 products: reset the lab's shop")
    [(category, candidates)] = bounds.items()
    price_max = random.choice(candidates)
    query = {"category": category, "price_max": price_max, "sort": "price_asc"}
    wanted = api(ctx, "GET", "/api/products", params=query).json()["data"]
    got = ctx.call("find_products", category, price_max)
    expect_type(got, list, f"find_products({category!r}, {price_max})")
    expect(got == wanted, f"{count(len(wanted), *PRODUCTS)}: {short([p['id'] for p in wanted], 80)} (id, від дешевших)",
           f"{len(got)}: {short([p.get('id') if isinstance(p, dict) else p for p in got], 80)}")


def check_all_products(ctx: Context) -> None:
    fresh = new_product(ctx)  # the total changes every run: no remembered count passes
    wanted = all_pages(ctx)
    got = ctx.call("all_products")
    expect_type(got, list, "all_products()")
    ids = [p.get("id") if isinstance(p, dict) else p for p in got]
    expect(len(got) == len(wanted), f"усі {count(len(wanted), *PRODUCTS)} з усіх сторінок", count(len(got), *PRODUCTS))
    expect(fresh["id"] in ids, f"серед них щойно створений id={fresh['id']}", f"id: …{short(ids[-5:])}")
    expect_equal(got, wanted, "all_products()")
    category = fresh["category"]
    wanted = all_pages(ctx, {"category": category})
    got = ctx.call("all_products", category)
    expect_type(got, list, f"all_products({category!r})")
    expect(got == wanted, f"усі {count(len(wanted), *PRODUCTS)} категорії {category}", count(len(got), *PRODUCTS))


def check_get_product(ctx: Context) -> None:
    product = new_product(ctx)
    expect_equal(ctx.call("get_product", product["id"]), product, f"get_product({product['id']})")
    missing = absent_id(ctx)
    got = ctx.call("get_product", missing)
    expect(got is None, f"get_product({missing}) → None (404)", got)


def _created(ctx: Context, location, title: str, category: str, price: float) -> dict:
    expect_type(location, str, "create_product(...)")
    expect("/api/products/" in location and location.rstrip("/").rsplit("/", 1)[-1].isdigit(),
           "URL з заголовка Location, напр. http://…/api/products/157", location)
    product_id = location.rstrip("/").rsplit("/", 1)[-1]
    resp = api(ctx, "GET", f"/api/products/{product_id}")
    expect(resp.status_code == 200, f"GET {location} → 200", f"{resp.status_code}")
    made = resp.json()
    expect_equal({k: made.get(k) for k in ("title", "category", "price")},
                 {"title": title, "category": category, "price": price}, "створений товар")
    return made


def check_create_product(ctx: Context) -> None:
    title = f"Товар {ctx.unique('c')}"
    price = round(random.uniform(10, 5000), 2)
    category = random.choice(CATEGORIES)
    before = api(ctx, "GET", "/api/products", params={"per_page": 1}).json()["pagination"]["total"]
    _created(ctx, ctx.call("create_product", title, category, price), title, category, price)
    after = api(ctx, "GET", "/api/products", params={"per_page": 1}).json()["pagination"]["total"]
    expect(after == before + 1, "рівно один новий товар", count(after - before, "новий", "нові", "нових"))


def check_create_rejects(ctx: Context) -> None:
    # First a valid product must work, so a function that always fails cannot pass.
    title, category, price = f"Товар {ctx.unique('v')}", random.choice(CATEGORIES), round(random.uniform(10, 900), 2)
    _created(ctx, ctx.call("create_product", title, category, price), title, category, price)
    try:
        got = ctx.call("create_product", f"Товар {ctx.unique('x')}", category, -5)
    except StudentError as error:
        if error.kind != "exception":
            raise
        return
    raise CheckFailed("виняток (ціна -5 → 400 VALIDATION_ERROR), напр. resp.raise_for_status()",
                      f"повернуто {short(got, 80)}")


ONE_PRODUCT = r"/api(?:/v[12])?/products/\{product_id\}"


def check_update_price(ctx: Context) -> None:
    product = new_product(ctx)
    price = round(product["price"] + random.uniform(1, 500), 2)
    before = {m: answered(ctx, ONE_PRODUCT, m) for m in ("PATCH", "PUT")}
    got = ctx.call("update_price", product["id"], price)
    sent = {m: answered(ctx, ONE_PRODUCT, m) - before[m] for m in before}
    wanted = {**product, "price": price}
    expect_equal(got, wanted, f"update_price({product['id']}, {price})")
    expect_equal(api(ctx, "GET", f"/api/products/{product['id']}").json(), wanted, "товар у магазині")
    # A full PUT with the price changed ends in the same product; the lecture asks for PATCH, and the shop saw which.
    expect(sent["PATCH"] >= 1 and sent["PUT"] == 0, "PATCH /api/products/{id} (часткове оновлення), без PUT",
           f"запитів PATCH: {sent['PATCH']:.0f}, PUT: {sent['PUT']:.0f}")


def check_delete_product(ctx: Context) -> None:
    product = new_product(ctx)
    got = ctx.call("delete_product", product["id"])
    expect(got is True, f"delete_product({product['id']}) → True", got)
    status = api(ctx, "GET", f"/api/products/{product['id']}").status_code
    expect(status == 404, f"GET /api/products/{product['id']} → 404 після видалення", status)
    again = ctx.call("delete_product", product["id"])
    expect(again is False, f"повторний delete_product({product['id']}) → False (404)", again)


USES = {name: (name,) for name in
        ("find_products", "all_products", "get_product", "create_product", "update_price", "delete_product")}

EXERCISE = Exercise(
    id="ex01",
    title="REST-клієнт магазину",
    services=("shop",),
    teardown=remove_made,
    checks=[
        Check("ex01.find_products", 2, "find_products filters by category and price_max, cheapest first",
              "Передайте фільтри як параметри запиту: params={'category': ..., 'price_max': ..., 'sort': 'price_asc'}; "
              "поверніть resp.json()['data'].",
              check_find_products, USES["find_products"], ("shop",)),
        Check("ex01.all_products", 3, "all_products collects every page, in order",
              "Ідіть сторінками page=1, 2, … і візьміть також останню, де page == pagination.total_pages "
              "(per_page не більше 100).",
              check_all_products, USES["all_products"], ("shop",)),
        Check("ex01.get_product", 2, "get_product returns the product, or None when the shop answers 404",
              "Перевірте resp.status_code == 404 і поверніть None; інакше resp.json().",
              check_get_product, USES["get_product"], ("shop",)),
        Check("ex01.create_product", 2, "create_product POSTs one product and returns the Location URL",
              "POST /api/products з json=... і HEADERS; відповідь 201, URL нового товару — у resp.headers['Location'].",
              check_create_product, USES["create_product"], ("shop",)),
        Check("ex01.create_rejects", 1, "create_product raises when the shop rejects the data (400)",
              "Не повертайте результат помилкового запиту: викличте resp.raise_for_status().",
              check_create_rejects, USES["create_product"], ("shop",)),
        Check("ex01.update_price", 2, "update_price PATCHes only the price and returns the updated product",
              "PATCH /api/products/{id} з json={'price': price}; поверніть resp.json().",
              check_update_price, USES["update_price"], ("shop",)),
        Check("ex01.delete_product", 2, "delete_product: True on 204, False when already gone (404)",
              "DELETE повертає 204 без тіла; 404 означає, що товару вже немає — поверніть False.",
              check_delete_product, USES["delete_product"], ("shop",)),
    ],
)
