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

import httpx

from labservices.common.client import ServiceClient, TargetRefused
from labservices.common.declaration import declared
from labservices.common.events import Event, EventBus, Transient
from labservices.common.events import contracts as c

from . import store as store_mod

CARRIER_KEY = "np-lab-key-0000"


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
            resp = await self.client.post(f"{declared('carrier').url}/v2.0/json/", json={
                "apiKey": self.carrier_key, "modelName": "InternetDocument", "calledMethod": "save",
                "methodProperties": props})
        except (httpx.HTTPError, TargetRefused) as exc:
            raise Transient(f"the carrier did not answer: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise Transient(f"the carrier answered {resp.status_code}")
        body = resp.json()
        if not body.get("success"):  # Nova Poshta says so in the body, with HTTP 200
            raise Transient(f"the carrier refused: {'; '.join(body.get('errors', []))}")
        return body["data"][0]
