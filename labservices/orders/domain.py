"""The order aggregate, event-sourced with the ``eventsourcing`` library.

An order's state is never stored: it is the fold of its events (``Created``, ``StockReserved``,
``PaymentReceived``, ``Shipped``, ``Cancelled``...), each kept forever in the event store with
its version. ``Orders.get(id, version=3)`` replays the first three. Methods that would repeat a
fact already recorded change nothing, so a redelivered event is harmless (idempotent by state).
"""
from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid.UUID("5b2d8c7e-8f0a-4c1e-9a53-1d6f0f3b2a77")


class Order(Aggregate):
    @staticmethod
    def create_id(key: str | None = None, **_: Any) -> uuid.UUID:
        """A client's Idempotency-Key names the order: creating it twice meets the first one."""
        return uuid.uuid5(NAMESPACE, key) if key else uuid.uuid4()

    @event("Created")
    def __init__(self, customer: dict, items: list[dict], total: int, currency: str, payment_method: str,
                 shipping: dict, key: str | None = None, stock_by: str = "inventory", reserved: bool = False) -> None:
        self.customer, self.items, self.total, self.currency = customer, items, total, currency
        self.payment_method, self.shipping, self.key = payment_method, shipping, key
        self.stock_by = stock_by  # who keeps its stock: inventory (placed async) or the catalog (notebook 05)
        self.stock = "reserved" if reserved else "pending"  # reserved: placed synchronously, stock held already
        self.payment, self.status = "pending", "pending"
        self.payment_id = self.waybill = self.reason = None

    def reserve_stock(self) -> None:
        if self.stock == "pending" and self.status != "cancelled":
            self._stock_reserved()

    @event("StockReserved")
    def _stock_reserved(self) -> None:
        self.stock = "reserved"
        self._progress()

    def reject_stock(self, reason: str) -> None:
        if self.stock == "pending":
            self._stock_rejected(reason)

    @event("StockRejected")
    def _stock_rejected(self, reason: str) -> None:
        self.stock = "rejected"

    def receive_payment(self, payment_id: str, amount: int) -> None:
        if self.payment == "pending":
            self._payment_received(payment_id, amount)

    @event("PaymentReceived")
    def _payment_received(self, payment_id: str, amount: int) -> None:
        self.payment, self.payment_id = "paid", payment_id
        self._progress()

    def decline_payment(self, reason: str) -> None:
        if self.payment == "pending":
            self._payment_declined(reason)

    @event("PaymentDeclined")
    def _payment_declined(self, reason: str) -> None:
        self.payment = "declined"

    def ship(self, waybill: str, carrier: str, estimated_delivery: str | None) -> None:
        if self.status != "shipped":
            self._shipped(waybill, carrier, estimated_delivery)

    @event("Shipped")
    def _shipped(self, waybill: str, carrier: str, estimated_delivery: str | None) -> None:
        self.status, self.waybill = "shipped", waybill

    @property
    def cancellable(self) -> bool:
        return self.status not in ("shipped", "cancelled")

    def cancel(self, reason: str) -> bool:
        if not self.cancellable:
            return False
        self._cancelled(reason)
        return True

    @event("Cancelled")
    def _cancelled(self, reason: str) -> None:
        self.status, self.reason = "cancelled", reason

    def _progress(self) -> None:
        if self.stock == "reserved" and self.payment == "paid" and self.status == "pending":
            self.status = "awaiting_shipment"

    def public(self) -> dict[str, Any]:
        return {"order_id": str(self.id), "version": self.version, "status": self.status, "stock": self.stock,
                "stock_by": getattr(self, "stock_by", "inventory"),
                "payment": self.payment, "customer": self.customer, "items": self.items, "total": self.total,
                "currency": self.currency, "payment_method": self.payment_method, "shipping": self.shipping,
                "payment_id": self.payment_id, "waybill": self.waybill, "reason": self.reason,
                "created_at": _iso(self.created_on), "updated_at": _iso(self.modified_on)}


def _iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Orders(Application):
    """The event store of orders (``PERSISTENCE_MODULE=eventsourcing.sqlite``)."""

    log_section_size = 100  # the log tailer reads up to 100 notifications at a time

    def get(self, order_id: uuid.UUID, version: int | None = None) -> Order:
        return self.repository.get(order_id, version=version)

    def stream(self, order_id: uuid.UUID) -> list[dict[str, Any]]:
        """Every event of one order, oldest first: what its state is folded from."""
        out = []
        for domain_event in self.events.get(order_id):
            data = {k: v for k, v in domain_event.__dict__.items()
                    if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")}
            out.append({"version": domain_event.originator_version, "type": type(domain_event).__name__,
                        "timestamp": _iso(domain_event.timestamp), "data": data})
        return out
