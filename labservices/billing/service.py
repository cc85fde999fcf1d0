"""What billing does: charge an order at the payments service, hear the outcome by webhook, refund on cancel.

The charge is asynchronous twice over: billing hears ``OrderCreated`` from the bus, asks the
payments service for a payment intent (with the event's id as ``Idempotency-Key``, so a
redelivered event never charges twice), and learns whether the card paid only when the payments
service calls back with a signed webhook. Then it publishes ``PaymentProcessed`` or
``PaymentFailed``. When an order is cancelled, a succeeded payment is refunded (a compensation).
"""
from __future__ import annotations

import asyncio

import httpx

from labservices.common.client import ServiceClient, TargetRefused
from labservices.common.events import Event, EventBus, Poison, Transient
from labservices.common.events import contracts as c
from labservices.common.payments_webhooks import PaymentsWebhooks, payments_url

from . import store as store_mod

WEBHOOK_EVENTS = ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"]

class Billing:
    def __init__(self, store: store_mod.Store, bus: EventBus, client: ServiceClient, own_url: str) -> None:
        self.store, self.bus, self.client = store, bus, client
        self.hooks = PaymentsWebhooks(store.db, client, own_url, WEBHOOK_EVENTS, "billing: order payments")

    # --- bus handlers --------------------------------------------------------------------------

    async def charge(self, event: Event):
        """OrderCreated: a payment intent for the order's total, confirmed with its test card."""
        order = event.parse(c.OrderCreated)
        amount = order.total * 100  # UAH to kopiykas, as Stripe counts money
        try:
            resp = await self.client.post(f"{payments_url()}/api/payment_intents", headers={"Idempotency-Key": event.id},
                                          json={"amount": amount, "currency": "uah", "confirm": True,
                                                "payment_method": order.payment_method,
                                                "description": f"Замовлення {order.order_id}",
                                                "metadata": {"order_id": order.order_id}})
        except (httpx.HTTPError, TargetRefused) as exc:
            raise Transient(f"payments did not answer: {type(exc).__name__}") from None
        if resp.status_code in (429,) or resp.status_code >= 500:
            raise Transient(f"payments answered {resp.status_code}")
        if resp.status_code >= 400:  # the order is wrong for payments (an unknown card): the payment failed
            reason = resp.json().get("error", {}).get("message", resp.text[:200])
            return lambda conn: self._failed(conn, order.order_id, amount, reason)
        intent = resp.json()
        return lambda conn: store_mod.requested(conn, order.order_id, intent["id"], amount)

    def _failed(self, conn, order_id: str, amount: int, reason: str) -> None:
        store_mod.requested(conn, order_id, None, amount)
        store_mod.settle(conn, order_id, "failed", reason)
        self.bus.emit(conn, "PaymentFailed", order_id, {"order_id": order_id, "reason": reason})

    async def refund_cancelled(self, event: Event):
        """OrderCancelled: give a succeeded payment back; one still pending is refunded when it succeeds."""
        order_id = event.parse(c.OrderCancelled).order_id
        row = await asyncio.to_thread(self._row, order_id)
        if row is None:
            return None
        if row["status"] == "succeeded":
            await self._refund(order_id, row["intent_id"], key=event.id)
            return lambda conn: self._refunded(conn, order_id, row["amount"])
        return lambda conn: store_mod.mark_cancelled(conn, order_id)

    async def _refund(self, order_id: str, intent_id: str, key: str) -> None:
        try:
            resp = await self.client.post(f"{payments_url()}/api/refunds", headers={"Idempotency-Key": f"refund-{key}"},
                                          json={"payment_intent": intent_id})
        except (httpx.HTTPError, TargetRefused) as exc:
            raise Transient(f"payments did not answer: {type(exc).__name__}") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise Transient(f"payments answered {resp.status_code}")
        if resp.status_code >= 400 and resp.json().get("error", {}).get("code") != "AMOUNT_TOO_LARGE":
            raise Poison(f"payments refused the refund of {order_id}: {resp.text[:200]}")

    def _refunded(self, conn, order_id: str, amount: int) -> None:
        store_mod.settle(conn, order_id, "refunded")
        self.bus.emit(conn, "PaymentRefunded", order_id, {"order_id": order_id, "amount": amount})

    def _row(self, order_id: str):
        with self.store.db.tx() as conn:
            return store_mod.get(conn, order_id)

    # --- the webhook ---------------------------------------------------------------------------

    async def webhook(self, body: bytes, headers: dict[str, str]) -> str:
        """A delivery from payments: verify its signature, then publish what it says about the order."""
        payload = await self.hooks.verify(body, headers)
        intent = payload.get("data", {}).get("object", {})
        order_id = (intent.get("metadata") or {}).get("order_id")
        if not order_id:
            return "ignored"
        outcome = await asyncio.to_thread(self._record, headers.get("webhook-id", payload.get("id", "")),
                                          payload.get("type", ""), order_id, intent)
        if outcome == "refund":  # the card paid after the order was cancelled: give it back
            await self._refund(order_id, intent["id"], key=payload.get("id", order_id))
            with self.store.db.tx() as conn:
                self._refunded(conn, order_id, intent.get("amount", 0))
            outcome = "refunded"
        self.bus.wake()
        return outcome

    def _record(self, webhook_id: str, type_: str, order_id: str, intent: dict) -> str:
        with self.store.db.tx() as conn:
            if not self.hooks.first_time(conn, webhook_id, type_):
                return "duplicate"
            row = store_mod.get(conn, order_id)
            if row is None:
                return "ignored"  # an intent billing did not create
            if type_ == "payment_intent.succeeded" and row["status"] != "succeeded":
                store_mod.settle(conn, order_id, "succeeded")
                if row["cancelled"]:
                    return "refund"
                self.bus.emit(conn, "PaymentProcessed", order_id,
                              {"order_id": order_id, "payment_id": intent["id"], "amount": intent.get("amount", 0)})
                return "paid"
            if type_ == "payment_intent.payment_failed" and row["status"] == "requested":
                reason = (intent.get("last_payment_error") or {}).get("message", "Картку відхилено")
                store_mod.settle(conn, order_id, "failed", reason)
                self.bus.emit(conn, "PaymentFailed", order_id, {"order_id": order_id, "reason": reason})
                return "failed"
            return "ignored"
