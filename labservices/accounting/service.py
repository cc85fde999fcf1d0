"""What accounting does with what it hears: payment webhooks and LiqPay callbacks become invoices and payments.

From the payments service (Stripe-like, minor units): ``payment_intent.created`` invoices the
order (its ``metadata.order_id``), ``payment_intent.succeeded`` records the payment,
``charge.refunded`` the refund. From LiqPay (major units, ``data`` + ``signature``): a callback with
``status`` success or sandbox records the payment. Each is recorded once per external id, so a
webhook delivered twice counts once.
"""
from __future__ import annotations

import asyncio

from labservices.common import ApiError
from labservices.common.client import ServiceClient
from labservices.common.payments_webhooks import PaymentsWebhooks

from . import liqpay
from .store import Store, add_invoice, add_payment

WEBHOOK_EVENTS = ["payment_intent.created", "payment_intent.succeeded", "charge.refunded"]
PAID = ("success", "sandbox")


class Accounting:
    def __init__(self, store: Store, client: ServiceClient, own_url: str) -> None:
        self.store = store
        self.hooks = PaymentsWebhooks(store.db, client, own_url, WEBHOOK_EVENTS, "accounting: invoices and payments")

    async def payments_webhook(self, body: bytes, headers: dict[str, str]) -> str:
        """A verified delivery from the payments service; what it did (invoiced, paid, refunded, duplicate...)."""
        payload = await self.hooks.verify(body, headers)
        return await asyncio.to_thread(self._record, headers.get("webhook-id", ""), payload)

    def _record(self, webhook_id: str, payload: dict) -> str:
        type_ = str(payload.get("type", ""))
        intent = (payload.get("data") or {}).get("object") or {}
        if type_ not in WEBHOOK_EVENTS or not isinstance(intent, dict) or not intent.get("id"):
            return "ignored"
        order_id = str((intent.get("metadata") or {}).get("order_id") or intent["id"])
        currency = str(intent.get("currency") or "uah")
        with self.store.db.tx() as conn:
            if not self.hooks.first_time(conn, webhook_id or str(payload.get("id")), type_):
                return "duplicate"
            if type_ == "payment_intent.created":
                customer = str(intent.get("customer") or intent.get("description") or "")
                return "invoiced" if add_invoice(conn, order_id, int(intent.get("amount") or 0), currency, customer,
                                                 "payments", intent["id"])[1] else "duplicate"
            if type_ == "payment_intent.succeeded":
                return "paid" if add_payment(conn, "payments", intent["id"], order_id, "payment",
                                             int(intent.get("amount") or 0), currency)[1] else "duplicate"
            refund = intent.get("refund") or {}
            return "refunded" if add_payment(conn, "payments", str(refund.get("id") or f"re_{webhook_id}"), order_id,
                                             "refund", int(refund.get("amount") or 0), currency)[1] else "duplicate"

    def liqpay_callback(self, private_key: str, data: str, signature: str) -> dict:
        """A LiqPay callback: the signature first, then the payment it reports (once per payment_id)."""
        if not liqpay.verify(private_key, data, signature):
            raise ApiError(401, "INVALID_SIGNATURE", "Підпис LiqPay не збігається: base64(sha1(private_key + data + "
                           "private_key))", [{"field": "signature", "message": "Перевірте ключ і те, що data не змінено"}])
        try:
            params = liqpay.decode(data)
            order_id, status = str(params["order_id"]), str(params.get("status", ""))
            amount = round(float(params["amount"]) * 100)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise ApiError(400, "VALIDATION_ERROR", "data має містити order_id, amount і status",
                           [{"field": "data", "message": str(exc)[:200]}]) from None
        if status not in PAID:
            return {"order_id": order_id, "status": status, "recorded": False}
        external_id = f"liqpay_{params.get('payment_id') or params.get('liqpay_order_id') or order_id}"
        record, created = self.store.record_payment("liqpay", external_id, order_id, "payment", amount,
                                                    str(params.get("currency") or "UAH"))
        return {"order_id": order_id, "status": status, "recorded": created, "payment": record}
