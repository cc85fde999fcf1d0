"""The lecture's synchronous ``create_order``, made to survive a slow or absent catalog.

The lecture's listing, step by step::

    product = GET  catalog /api/products/{product_id}          # is there enough?
    if product["stock"] < quantity: raise InsufficientStock()
    POST catalog /api/products/{product_id}/reserve {"quantity": quantity}
    order = Order.create(...)

What the listing leaves out, and a caller needs once the catalog is another process:

* **discovery**: the catalog's address comes from the registry, and a copy that does not answer
  is skipped for the next one (``labservices.common.discovery``);
* **a timeout** on every call (``ORDERS_CATALOG_TIMEOUT_S``, 2 s): no order waits forever;
* **retries** with exponential backoff and jitter, and a stop (tenacity, 3 attempts), only for
  what may pass on a second try;
* **a circuit breaker** (pybreaker: open after 5 failures in a row, a trial after 10 s): while
  the catalog is known to be failing, orders stops waiting for it and answers at once;
* **a fallback**: when the catalog cannot be reached, the order is still taken, the asynchronous
  way. It is recorded with its stock ``pending`` and ``OrderCreated`` carries
  ``stock_by: "catalog"``; the catalog reserves it from the bus when it is back (202 Accepted,
  ``X-Fallback`` says why).

Reservations are keyed by order and product, so a retried call, a replayed request, or the
catalog reserving the same order from the bus later all hold the stock once.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from labservices.common import ApiError
from labservices.common.discovery import NoInstance, Resolver
from labservices.common.resilience import Breaker, BreakerOpen, UpstreamError, raise_for_upstream, retrying

from .domain import Order
from .service import OrdersService

UNREACHABLE = (BreakerOpen, NoInstance, UpstreamError, httpx.TransportError)


class Catalog:
    """Orders' way to the catalog: discovery, timeout, retries, a breaker."""

    def __init__(self, resolver: Resolver, breaker: Breaker, *, timeout_s: float, attempts: int) -> None:
        self.resolver, self.breaker = resolver, breaker
        self.timeout_s, self.attempts = timeout_s, attempts

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One logical call: each try goes through the breaker; 4xx answers are returned, not retried."""
        async for attempt in retrying(attempts=self.attempts, deadline_s=self.timeout_s * self.attempts + 2):
            with attempt:
                async with self.breaker.guard():
                    resp = await self.resolver.request("catalog", method, path, timeout=self.timeout_s, **kwargs)
                    raise_for_upstream("catalog", resp)
        return resp


async def place_sync(orders: OrdersService, catalog: Catalog, body: dict, key: str | None) -> tuple[int, dict, dict]:
    """Place an order the synchronous way; (status, order, headers). Raises ApiError for the client's mistakes."""
    key = key or f"sync-{uuid.uuid4()}"  # the order's id comes from a key: the one we reserve under before it exists
    order_id = Order.create_id(key)
    existing = await asyncio.to_thread(orders.find, order_id)
    if existing is not None:  # the same Idempotency-Key again: the same order, nothing reserved twice
        return 200, existing, {"Idempotent-Replayed": "true"}
    started = time.perf_counter()
    lines: list[dict] = []
    reserved: list[dict] = []
    try:
        for n, item in enumerate(body["items"]):
            sku, quantity = item["sku"], item["quantity"]
            resp = await catalog.call("GET", f"/api/products/{sku}")
            if resp.status_code in (400, 404):  # no such product (or not even a valid product id)
                raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту",
                               [{"field": f"items[{n}].sku", "message": f"Товару {sku!r} у каталозі немає"}])
            if resp.status_code != 200:
                raise ApiError(502, "CATALOG_ERROR", f"Каталог відповів {resp.status_code} на запит товару {sku}")
            product = resp.json()
            if product["stock"] < quantity:
                raise _insufficient(sku, product["stock"], quantity, n)
            resp = await catalog.call("POST", f"/api/products/{sku}/reserve",
                                      json={"quantity": quantity, "order_id": str(order_id)},
                                      headers={"Idempotency-Key": f"{order_id}:{sku}"})
            if resp.status_code == 409:  # someone took it between our GET and our POST
                raise _insufficient(sku, None, quantity, n)
            if resp.status_code >= 400:
                raise ApiError(502, "CATALOG_ERROR", f"Каталог відповів {resp.status_code} на резервування {sku}")
            reserved.append(resp.json())
            lines.append({"sku": sku, "title": product["name"], "quantity": quantity, "unit_price": product["price"]})
    except ApiError:
        await _release(catalog, reserved)  # all lines or none: what this call held goes back
        raise
    except UNREACHABLE as exc:
        # Fallback: take the order the asynchronous way; the catalog reserves it from the bus when it is back.
        # What this call reserved already stays held: the bus reservation meets the same keys.
        order, _ = await asyncio.to_thread(orders.place, body["customer"], body["items"], body["payment_method"],
                                           body["shipping"], key, stock_by="catalog")
        why = "circuit-open" if isinstance(exc, BreakerOpen) else "catalog-unreachable"
        return 202, order, {"X-Fallback": why, "Server-Timing": _timing(started)}
    order, replayed = await asyncio.to_thread(orders.place, body["customer"], body["items"], body["payment_method"],
                                              body["shipping"], key, stock_by="catalog", reserved=True, lines=lines)
    return (200 if replayed else 201), order, {"Server-Timing": _timing(started)}


def _insufficient(sku: str, available: int | None, quantity: int, n: int) -> ApiError:
    have = f"є {available}, " if available is not None else ""
    return ApiError(409, "INSUFFICIENT_STOCK", f"Недостатньо товару {sku}: {have}потрібно {quantity}",
                    [{"field": f"items[{n}].quantity", "message": f"Доступно {available}" if available is not None
                      else "Товар щойно зарезервував хтось інший"}])


async def _release(catalog: Catalog, reserved: list[dict]) -> None:
    for reservation in reserved:
        try:
            await catalog.call("POST", f"/api/reservations/{reservation['reservation_id']}/release")
        except UNREACHABLE:
            pass  # it stays held; the order was never created, so nothing else will release it: logged by the client


def _timing(started: float) -> str:
    return f"catalog;desc=\"calls to the catalog\";dur={(time.perf_counter() - started) * 1000:.1f}"
