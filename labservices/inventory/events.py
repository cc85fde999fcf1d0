"""What inventory does with the events it hears: reserve, release, let stock leave."""
from __future__ import annotations

from labservices.common.events import Event, EventBus
from labservices.common.events import contracts as c

from . import store


def subscribe(bus: EventBus) -> None:
    @bus.subscribe("OrderCreated")
    def reserve_stock(tx, event: Event) -> None:
        """All of the order's lines, or none: InventoryReserved or InventoryRejected."""
        order = event.parse(c.OrderCreated)
        if order.stock_by != "inventory":  # the catalog keeps this order's stock (notebook 05)
            return
        lines = [line.model_dump(include={"sku", "quantity"}) for line in order.items]
        reserved, missing = store.reserve(tx, order.order_id, lines)
        if reserved:
            bus.emit(tx, "InventoryReserved", order.order_id, {"order_id": order.order_id, "items": lines})
        else:
            reason = "; ".join(f"{m['sku']}: є {m['available']}, потрібно {m['requested']}" for m in missing)
            bus.emit(tx, "InventoryRejected", order.order_id,
                     {"order_id": order.order_id, "reason": reason or "резерв відхилено раніше", "missing": missing})

    @bus.subscribe("OrderCancelled")
    def release_stock(tx, event: Event) -> None:
        """A cancelled order's stock goes back on the shelf (InventoryReleased)."""
        order = event.parse(c.OrderCancelled)
        if store.release(tx, order.order_id):
            bus.emit(tx, "InventoryReleased", order.order_id, {"order_id": order.order_id})

    @bus.subscribe("OrderShipped")
    def stock_left(tx, event: Event) -> None:
        """The parcel left: its reserved stock is gone for good."""
        store.commit(tx, event.parse(c.OrderShipped).order_id)
