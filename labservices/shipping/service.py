"""What shipping does: hear the order, its stock and its payment in any order, then ship it once.

Shipping needs two facts from two services, ``InventoryReserved`` and ``PaymentProcessed``; the
bus promises neither their order nor that each comes once. So shipping writes down each fact as
it comes (the first time of each counts) and ships when the second one arrives. The carrier call
carries the order id as ``InfoRegClientBarcodes``, so calling again after a crash or a retry
meets the same waybill instead of making a second parcel.
"""
from __future__ import annotations

import asyncio
import json
import time

from labservices.common import ApiError, novaposhta
from labservices.common.client import ServiceClient
from labservices.common.events import Event, EventBus, Transient
from labservices.common.events import contracts as c

from . import store as store_mod

CarrierRefused = novaposhta.CarrierRefused  # the carrier answered and said no: asking again will not help


class Shipping:
    def __init__(self, store: store_mod.Store, bus: EventBus, client: ServiceClient, carrier_key: str) -> None:
        self.store, self.bus, self.client, self.carrier_key = store, bus, client, carrier_key

    async def ship_now(self, order_id: str, recipient: dict, total: int) -> tuple[dict, bool]:
        """A saga's step: a waybill for an order now, over HTTP (published nowhere); (shipment, again)."""
        row = await asyncio.to_thread(self.store.row, order_id)
        if row is not None and row["waybill"]:
            return store_mod.public(row), True
        if row is not None and row["cancelled_at"]:
            raise ApiError(409, "ORDER_CANCELLED", f"Замовлення {order_id} скасовано: відправлення не створюється")
        try:
            waybill = await self.waybill(order_id, recipient, total)
        except CarrierRefused as exc:
            raise ApiError(422, "SHIPPING_REJECTED", f"Перевізник відмовив: {exc}",
                           [{"field": "recipient", "message": str(exc), "type": "business_rule"}]) from None
        except Transient as exc:
            raise ApiError(503, "CARRIER_UNAVAILABLE", f"Перевізник недоступний ({exc}); спробуйте ще раз",
                           headers={"Retry-After": "1"}) from None
        now = time.time()

        def record() -> dict:
            with self.store.db.tx() as tx:
                store_mod.note(tx, order_id, recipient=recipient, total=total, reserved_at=now, paid_at=now,
                               waybill=waybill["IntDocNumber"], estimated_delivery=waybill["EstimatedDeliveryDate"],
                               shipped_at=now)
            return store_mod.public(self.store.row(order_id))
        return await asyncio.to_thread(record), False

    async def remember_order(self, event: Event):
        """OrderCreated: who gets the parcel and what is in it; an order placed synchronously has its stock already."""
        order = event.parse(c.OrderCreated)
        facts = {"recipient": {**order.customer.model_dump(), **order.shipping.model_dump()},
                 "items": [i.model_dump(exclude_none=True) for i in order.items], "total": order.total}
        if order.stock == "reserved":  # placed through the catalog (notebook 05): no InventoryReserved will come
            return await self._fact(order.order_id, reserved_at=time.time(), **facts)
        return lambda tx: store_mod.note(tx, order.order_id, **facts)

    def cancelled(self, tx, event: Event) -> None:
        """OrderCancelled: an order not shipped yet will not be."""
        store_mod.note(tx, event.parse(c.OrderCancelled).order_id, cancelled_at=time.time())

    async def stock_reserved(self, event: Event):
        return await self._fact(event.parse(c.InventoryReserved).order_id, reserved_at=time.time())

    async def paid(self, event: Event):
        return await self._fact(event.parse(c.PaymentProcessed).order_id, paid_at=time.time())

    async def _fact(self, order_id: str, **fact):
        row = await asyncio.to_thread(self.store.row, order_id)
        heard = {k: v for k, v in (dict(row) if row else {}).items() if k in ("reserved_at", "paid_at", "cancelled_at",
                                                                              "waybill")}
        ready = ((heard.get("reserved_at") or fact.get("reserved_at")) and (heard.get("paid_at") or fact.get("paid_at"))
                 and not heard.get("cancelled_at") and not heard.get("waybill"))
        if not ready:
            return lambda tx: store_mod.note(tx, order_id, **fact)
        recipient = fact.get("recipient") or (json.loads(row["recipient"]) if row is not None and row["recipient"]
                                              else {})
        total = fact.get("total") or (row["total"] if row is not None else 0) or 0
        try:
            waybill = await self.waybill(order_id, recipient, total)
        except CarrierRefused as exc:
            raise Transient(str(exc)) from None

        def ship(tx) -> None:
            store_mod.note(tx, order_id, **fact, waybill=waybill["IntDocNumber"],
                           estimated_delivery=waybill["EstimatedDeliveryDate"], shipped_at=time.time())
            self.bus.emit(tx, "OrderShipped", order_id, {
                "order_id": order_id, "waybill": waybill["IntDocNumber"], "carrier": "nova-poshta",
                "estimated_delivery": waybill["EstimatedDeliveryDate"]})
        return ship

    async def waybill(self, order_id: str, recipient: dict, total: int) -> dict:
        """A waybill from the carrier (the same one again for the same order); Transient or CarrierRefused."""
        props = {"CityRecipient": recipient.get("city") or "Київ",
                 "RecipientAddress": recipient.get("warehouse") or "Відділення №1",
                 "RecipientName": recipient.get("name") or "Одержувач", "RecipientsPhone": "380000000000",
                 "Weight": "1", "Cost": str(total or 0), "InfoRegClientBarcodes": order_id}
        try:
            return await novaposhta.save_waybill(self.client, props, self.carrier_key)
        except novaposhta.CarrierUnavailable as exc:
            raise Transient(str(exc)) from None
