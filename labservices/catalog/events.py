"""The catalog on the bus: reserve for orders placed while it was unreachable, release, commit.

When orders cannot reach the catalog (its circuit is open), it falls back to the asynchronous
path: it records the order with its stock ``pending`` and publishes ``OrderCreated`` with
``stock_by: "catalog"``. The catalog reserves it when it reads the event and answers
``InventoryReserved`` or ``InventoryRejected``, as inventory does for notebook 04's orders.
Cancelled orders give their stock back; shipped ones commit it.
"""
from __future__ import annotations

from labservices.common import ApiError
from labservices.common.events import Event, EventBus
from labservices.common.events import contracts as c

from . import store


def subscribe(bus: EventBus, served_by: str) -> None:
    @bus.subscribe("OrderCreated")
    def reserve_for_order(tx, event: Event) -> None:
        """All lines or none, as one transaction; only orders whose stock the catalog keeps."""
        order = event.parse(c.OrderCreated)
        if order.stock_by != "catalog" or order.stock == "reserved":
            return
        lines = [line.model_dump(include={"sku", "quantity"}) for line in order.items]
        tx.execute("SAVEPOINT reserve_all")
        try:
            for line in lines:
                store.reserve(tx, line["sku"], line["quantity"], order.order_id, f"{order.order_id}:{line['sku']}",
                              served_by)
        except ApiError as exc:
            tx.execute("ROLLBACK TO reserve_all")
            bus.emit(tx, "InventoryRejected", order.order_id, {"order_id": order.order_id, "reason": exc.message})
            return
        finally:
            tx.execute("RELEASE reserve_all")
        bus.emit(tx, "InventoryReserved", order.order_id, {"order_id": order.order_id, "items": lines})

    @bus.subscribe("OrderCancelled")
    def release_for_order(tx, event: Event) -> None:
        order_id = event.parse(c.OrderCancelled).order_id
        released = [store.release(tx, row) for row in store.held_for(tx, order_id)]
        if any(released):
            bus.emit(tx, "InventoryReleased", order_id, {"order_id": order_id})

    @bus.subscribe("OrderShipped")
    def stock_left(tx, event: Event) -> None:
        store.commit(tx, event.parse(c.OrderShipped).order_id)
