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

from labservices.common import novaposhta
from labservices.common.client import ServiceClient
from labservices.common.events import Event, EventBus, Transient
from labservices.common.events import contracts as c

from . import store as store_mod



class Shipping:
    def __init__(self, store: store_mod.Store, bus: EventBus, client: ServiceClient, carrier_key: str) -> None:
        self.store, self.bus, self.client, self.carrier_key = store, bus, client, carrier_key

    def remember_order(self, tx, event: Event) -> None:
        """OrderCreated: who gets the parcel and what is in it."""
        order = event.parse(c.OrderCreated)
        store_mod.note(tx, order.order_id, recipient={**order.customer.model_dump(), **order.shipping.model_dump()},
                       items=[i.model_dump(exclude_none=True) for i in order.items], total=order.total)

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
        waybill = await self._waybill(order_id, row)

        def ship(tx) -> None:
            store_mod.note(tx, order_id, **fact, waybill=waybill["IntDocNumber"],
                           estimated_delivery=waybill["EstimatedDeliveryDate"], shipped_at=time.time())
            self.bus.emit(tx, "OrderShipped", order_id, {
                "order_id": order_id, "waybill": waybill["IntDocNumber"], "carrier": "nova-poshta",
                "estimated_delivery": waybill["EstimatedDeliveryDate"]})
        return ship

    async def _waybill(self, order_id: str, row) -> dict:
        recipient = json.loads(row["recipient"]) if row is not None and row["recipient"] else {}
        props = {"CityRecipient": recipient.get("city", "Київ"), "RecipientAddress": recipient.get("warehouse",
                                                                                                   "Відділення №1"),
                 "RecipientName": recipient.get("name") or "Одержувач", "RecipientsPhone": "380000000000",
                 "Weight": "1", "Cost": str(row["total"] if row is not None and row["total"] else 0),
                 "InfoRegClientBarcodes": order_id}
        try:
            return await novaposhta.save_waybill(self.client, props, self.carrier_key)
        except novaposhta.CarrierUnavailable as exc:
            raise Transient(str(exc)) from None
        except novaposhta.CarrierRefused as exc:
            raise Transient(f"the carrier refused: {exc}") from None
