"""What orders does: place and cancel orders, react to the bus, and tail its own event store to the outbox.

The order's events are written once, to the event store, in one transaction: that is the
"same local transaction" of the transactional outbox. A log tailer (``follow``) then reads the
store's notification log in order and, for each new domain event, writes the integration event
the rest of the lab hears (``OrderCreated``, ``OrderCancelled``) to the bus's outbox, updates the
list of orders and remembers how far it read — all in one transaction of orders' own database.
The event ids are derived from (order, version), so reading a notification twice publishes
nothing twice.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from labservices.common import ApiError
from labservices.common.catalog import PRICES, TITLES
from labservices.common.events import Event, EventBus, Transient
from labservices.common.events import contracts as c
from labservices.common.events import stable_id
from labservices.common.events import store as event_store
from labservices.common.events.store import current_traceparent

from . import store as store_mod
from .domain import Order, Orders

log = logging.getLogger("labservices.orders")

# Which domain events the rest of the lab hears about, and under which name.
PUBLISHED = {"Order.Created": "OrderCreated", "Order.Cancelled": "OrderCancelled"}


class OrdersService:
    def __init__(self, events: Orders, store: store_mod.Store, bus: EventBus) -> None:
        self.events, self.store, self.bus = events, store, bus
        self._bell: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- commands (from HTTP routes, in worker threads) -------------------------------------

    def place(self, customer: dict, items: list[dict], payment_method: str, shipping: dict, key: str | None,
              *, stock_by: str = "inventory", reserved: bool = False,
              lines: list[dict] | None = None) -> tuple[dict, bool]:
        """Create an order; with a key, a second call meets the first.

        Priced from orders' own price list, or from ``lines`` the synchronous path read from the
        catalog; ``reserved``: its stock is held already (placed synchronously).
        """
        if lines is not None:
            return self._save(Order(customer=customer, items=lines, total=sum(i["quantity"] * i["unit_price"]
                                                                              for i in lines),
                                    currency="UAH", payment_method=payment_method, shipping=shipping, key=key,
                                    stock_by=stock_by, reserved=reserved), lines, customer, payment_method)
        lines, unknown = [], []
        for n, item in enumerate(items):
            if item["sku"] not in PRICES:
                unknown.append({"field": f"items[{n}].sku", "message": f"Товару {item['sku']!r} у каталозі немає"})
                continue
            lines.append({"sku": item["sku"], "title": TITLES[item["sku"]], "quantity": item["quantity"],
                          "unit_price": PRICES[item["sku"]]})
        if unknown:
            raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту", unknown)
        total = sum(line["quantity"] * line["unit_price"] for line in lines)
        order = Order(customer=customer, items=lines, total=total, currency="UAH", payment_method=payment_method,
                      shipping=shipping, key=key, stock_by=stock_by, reserved=reserved)
        return self._save(order, lines, customer, payment_method)

    def _save(self, order: Order, lines: list[dict], customer: dict, payment_method: str) -> tuple[dict, bool]:
        try:
            self.events.save(order)
        except IntegrityError:
            existing = self.events.get(order.id)
            if ([(i["sku"], i["quantity"]) for i in existing.items], existing.customer, existing.payment_method) != (
                    [(i["sku"], i["quantity"]) for i in lines], customer, payment_method):
                raise ApiError(422, "IDEMPOTENCY_KEY_REUSED",
                               "Цей Idempotency-Key вже використано для іншого замовлення; потрібен новий ключ",
                               [{"field": "Idempotency-Key", "message": "Тіло запиту відрізняється від першого"}])
            return existing.public(), True
        self._recorded(order)
        return order.public(), False

    def cancel(self, order_id: uuid.UUID, reason: str) -> dict:
        order = self.get(order_id)
        if not order.cancel(reason):
            raise ApiError(409, "ORDER_NOT_CANCELLABLE", f"Замовлення у стані {order.status} скасувати не можна")
        self.events.save(order)
        self._recorded(order)
        return order.public()

    def find(self, order_id: uuid.UUID) -> dict | None:
        """The order as it is now, or None."""
        try:
            return self.events.get(order_id).public()
        except AggregateNotFoundError:
            return None

    def get(self, order_id: uuid.UUID, version: int | None = None) -> Order:
        try:
            order = self.events.get(order_id, version=version)
        except AggregateNotFoundError:
            raise ApiError(404, "NOT_FOUND", f"Замовлення {order_id} не знайдено") from None
        if version is not None and order.version != version:
            raise ApiError(404, "NOT_FOUND", f"Замовлення {order_id} має лише {order.version} подій",
                           [{"field": "version", "message": f"Від 1 до {order.version}"}])
        return order

    def _recorded(self, order: Order) -> None:
        """Remember the trace this version was recorded in, and wake the log tailer."""
        self.store.remember_trace(str(order.id), order.version, current_traceparent())
        self.wake()

    # --- reactions to other services' events (bus handlers, in worker threads) ---------------

    def react(self, event: Event) -> None:
        """Record what another service said about an order; a repeated fact changes nothing."""
        reactions = {
            "InventoryReserved": lambda o: o.reserve_stock(),
            "InventoryRejected": lambda o: (o.reject_stock(event.parse(c.InventoryRejected).reason),
                                            o.cancel(f"Немає на складі: {event.parse(c.InventoryRejected).reason}")),
            "PaymentProcessed": lambda o: o.receive_payment(event.parse(c.PaymentProcessed).payment_id,
                                                            event.parse(c.PaymentProcessed).amount),
            "PaymentFailed": lambda o: (o.decline_payment(event.parse(c.PaymentFailed).reason),
                                        o.cancel(f"Оплату відхилено: {event.parse(c.PaymentFailed).reason}")),
            "OrderShipped": lambda o: o.ship(event.parse(c.OrderShipped).waybill, event.parse(c.OrderShipped).carrier,
                                             event.parse(c.OrderShipped).estimated_delivery),
        }
        order_id = event.data.get("order_id") or event.subject
        try:
            order = self.events.get(uuid.UUID(str(order_id)))
        except (ValueError, TypeError, AggregateNotFoundError):
            return  # not one of ours (another shop's order, a made-up id): nothing to do
        before = order.version
        reactions[event.type](order)
        if order.version != before:
            try:
                self.events.save(order)
            except IntegrityError as exc:  # another event about this order was saved meanwhile: try again
                raise Transient(f"order {order_id} changed meanwhile ({exc})") from None
            self._recorded(order)

    # --- the log tailer ---------------------------------------------------------------------------

    def wake(self) -> None:
        if self._loop is not None and self._bell is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._bell.set)

    async def follow(self, app=None) -> None:
        """Worker: tail the event store's notification log into the outbox and the list of orders."""
        self._loop, self._bell = asyncio.get_running_loop(), asyncio.Event()
        while True:
            self._bell.clear()
            moved = await asyncio.to_thread(self.follow_once)
            if moved:
                self.bus.wake()
            if moved < 100:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._bell.wait(), 0.5)

    def follow_once(self, limit: int = 100) -> int:
        """One pass: notifications after the recorded position, into the outbox and the index, atomically."""
        position = self.store.position()
        notifications = self.events.notification_log.select(position + 1, limit)
        if not notifications:
            return 0
        touched: dict[str, int] = {}
        with self.store.db.tx() as tx:
            for note in notifications:
                domain_event = self.events.mapper.to_domain_event(note)
                order_id, version = str(note.originator_id), note.originator_version
                touched[order_id] = max(touched.get(order_id, 0), version)
                name = PUBLISHED.get(type(domain_event).__qualname__)
                if name is not None:
                    event = self.bus.event(name, order_id, self._data(name, domain_event, order_id),
                                           event_id=stable_id("orders", order_id, version))
                    trace = store_mod.trace_of(tx, order_id, version)
                    event_store.emit(tx, Event(event.type, event.source, event.subject, event.data, event.id,
                                               event.time, trace))
            for order_id, version in touched.items():
                store_mod.index(tx, self.events.get(uuid.UUID(order_id), version=version).public())
            store_mod.advance(tx, notifications[-1].id)
        return len(notifications)

    def _data(self, name: str, domain_event: Any, order_id: str) -> dict[str, Any]:
        if name == "OrderCreated":
            return {"order_id": order_id, "customer": domain_event.customer, "items": domain_event.items,
                    "total": domain_event.total, "currency": domain_event.currency,
                    "payment_method": domain_event.payment_method, "shipping": domain_event.shipping,
                    "stock_by": getattr(domain_event, "stock_by", "inventory"),
                    "stock": "reserved" if getattr(domain_event, "reserved", False) else "pending"}
        return {"order_id": order_id, "reason": domain_event.reason}
