"""The lecture's workflows, step by step (each step small, idempotent, and honest about how it failed).

``new-order`` — the lecture's n8n example: a new order's webhook → find the customer in the CRM,
create them if missing → the order as a deal → stock reserved in the warehouse → the payment →
a confirmation email → an event for analytics. Every step can run again without doing its work
twice: the CRM deal is upserted by the order id, the warehouse reservation is per order, the
payment carries ``Idempotency-Key: order-<id>``, the email's Message-ID comes from the order id,
the analytics event has a stable id.

``email-engagement`` — the CRM ↔ email marketing scenario: the mailer's webhook (a member opened
or clicked a campaign) → the contact in the CRM → an activity on it, once per webhook.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from labservices.common.client import ServiceClient, TargetRefused
from labservices.common.db import Database
from labservices.common.declaration import declared
from labservices.common.events import EventBus, stable_id
from labservices.common.mail import Refused, SendError, send_email

from .crm import CrmClient, CrmError
from .engine import Context, Fatal, Retryable, Step, Workflow
from .settings import Settings

ACTIVITY = {"open": "email_opened", "click": "email_clicked", "unsubscribe": "note", "subscribe": "note"}


@dataclass
class Connections:
    """The systems the workflows reach, with the credentials the middleware holds for them."""

    client: ServiceClient
    crm: CrmClient
    bus: EventBus
    db: Database
    settings: Settings


def checked(resp: httpx.Response, what: str) -> dict:
    """The JSON of a 2xx; Retryable for 429 and 5xx (may pass), Fatal for any other 4xx (will not)."""
    if resp.status_code < 300:
        return resp.json() if resp.content else {}
    try:
        message = resp.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = resp.text[:200]
    error = f"{what}: {resp.status_code} {message}"
    raise Retryable(error) if resp.status_code == 429 or resp.status_code >= 500 else Fatal(error)


async def call(client: ServiceClient, method: str, url: str, what: str, **kwargs: Any) -> dict:
    try:
        resp = await client.request(method, url, **kwargs)
    except (httpx.HTTPError, TargetRefused) as exc:
        raise Retryable(f"{what}: no answer ({type(exc).__name__})") from None
    return checked(resp, what)


def crm_failure(exc: CrmError) -> Exception:
    return Retryable(f"CRM: {exc}") if exc.status is None or exc.status == 429 or exc.status >= 500 else Fatal(f"CRM: {exc}")


def new_order(c: Connections) -> Workflow:
    async def crm_contact(ctx: Context) -> dict:
        customer = ctx.payload["customer"]
        try:
            found = await c.crm.find_contact(customer["email"])
            if found is not None:
                return {"contact_id": found["id"], "created": False}
            fields = {k: customer[k] for k in ("email", "first_name", "last_name", "phone", "city") if customer.get(k)}
            created = await c.crm.create_contact({**fields, "lead_source": "Web", "tags": ["customer"]})
            return {"contact_id": created["id"], "created": True}
        except CrmError as exc:
            if exc.status == 409:  # created by someone else between our look and our create: look again
                raise Retryable(f"CRM: {exc}") from None
            raise crm_failure(exc) from None

    async def crm_deal(ctx: Context) -> dict:
        order = ctx.payload
        try:
            deal = await c.crm.upsert_deal(order["order_id"], {
                "name": f"Замовлення {order['order_id']}", "amount": order["total"], "currency": order["currency"],
                "stage": "Closed Won", "contact_id": ctx.outputs["crm_contact"]["contact_id"]})
        except CrmError as exc:
            raise crm_failure(exc) from None
        return {"deal_id": deal["id"]}

    async def warehouse_reserve(ctx: Context) -> dict:
        order = ctx.payload
        reservation = await call(c.client, "POST", f"{declared('warehouse').url}/api/reservations", "warehouse",
                                 json={"order_id": order["order_id"],
                                       "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in order["items"]]})
        return {"reservation": reservation["order_id"], "status": reservation["status"]}

    async def payment(ctx: Context) -> dict:
        order = ctx.payload
        intent = await call(c.client, "POST", f"{declared('payments').url}/api/payment_intents", "payments",
                            headers={"Idempotency-Key": f"order-{order['order_id']}"},
                            json={"amount": round(order["total"] * 100), "currency": order["currency"].lower(),
                                  "confirm": True, "payment_method": order.get("payment_method", "pm_card_visa"),
                                  "description": f"Замовлення {order['order_id']}",
                                  "metadata": {"order_id": order["order_id"]}})
        if intent["status"] != "succeeded":
            reason = (intent.get("last_payment_error") or {}).get("message", intent["status"])
            raise Fatal(f"payments: the card was not charged ({reason})")
        return {"payment_intent": intent["id"], "amount": intent["amount"]}

    async def email(ctx: Context) -> dict:
        order, customer = ctx.payload, ctx.payload["customer"]
        lines = "\n".join(f"  {i.get('title') or i['sku']} × {i['quantity']}" for i in order["items"])
        text = (f"Вітаємо, {customer.get('first_name') or 'покупцю'}!\n\nЗамовлення {order['order_id']} прийнято й "
                f"оплачено:\n{lines}\nРазом: {order['total']} {order['currency']}.\n\nДякуємо за покупку!")
        try:
            message_id = await send_email(c.settings.sender, customer["email"], f"Замовлення {order['order_id']} "
                                          "підтверджено", text, seed=f"order-confirmation.{order['order_id']}")
        except Refused as exc:
            raise Fatal(f"SMTP: the address was refused: {exc}") from None
        except SendError as exc:
            raise Retryable(f"SMTP: {type(exc).__name__}: {exc}") from None
        return {"message_id": message_id, "to": customer["email"]}

    async def analytics(ctx: Context) -> dict:
        order = ctx.payload
        event_id = stable_id("OrderConfirmed", order["order_id"])
        data = {"order_id": order["order_id"], "customer": {"email": order["customer"]["email"]},
                "items": [{"sku": i["sku"], "quantity": i["quantity"], "title": i.get("title"),
                           "unit_price": round(i["unit_price"]) if i.get("unit_price") is not None else None}
                          for i in order["items"]],
                "total": order["total"], "currency": order["currency"],
                "paid": ctx.outputs["payment"]["amount"], "source": "middleware"}

        def record() -> None:
            with c.db.tx() as tx:
                c.bus.emit(tx, "OrderConfirmed", order["order_id"], data, event_id=event_id)
        await asyncio.to_thread(record)
        c.bus.wake()
        return {"event_id": event_id, "type": "OrderConfirmed"}

    return Workflow("new-order", (
        Step("crm_contact", crm_contact, "CRM: знайти або створити контакт"),
        Step("crm_deal", crm_deal, "CRM: угода"),
        Step("warehouse_reserve", warehouse_reserve, "Склад: резерв"),
        Step("payment", payment, "Оплата"),
        Step("email", email, "Лист клієнту"),
        Step("analytics", analytics, "Аналітика: подія"),
    ), key=lambda p: p["order_id"], order_id=lambda p: p["order_id"])


def email_engagement(c: Connections) -> Workflow:
    async def crm_contact(ctx: Context) -> dict:
        email = ctx.payload["event"]["data"]["email"]
        try:
            found = await c.crm.find_contact(email)
            if found is None:
                found = await c.crm.create_contact({"email": email, "lead_source": "Email", "tags": ["lead"]})
        except CrmError as exc:
            raise crm_failure(exc) from None
        return {"contact_id": found["id"]}

    async def crm_activity(ctx: Context) -> dict:
        event = ctx.payload["event"]
        data = event["data"]
        subject = {"open": "Відкрив лист кампанії", "click": f"Перейшов за посиланням {data.get('url', '')}",
                   "unsubscribe": "Відписався від розсилки", "subscribe": "Підписався на розсилку"}[event["type"]]
        try:
            activity = await c.crm.add_activity(ctx.outputs["crm_contact"]["contact_id"], {
                "type": ACTIVITY[event["type"]], "subject": f"{subject} ({data.get('campaign_id', '')})"[:200],
                "external_id": ctx.payload["webhook_id"]})
        except CrmError as exc:
            raise crm_failure(exc) from None
        return {"activity_id": activity["id"]}

    return Workflow("email-engagement", (
        Step("crm_contact", crm_contact, "CRM: знайти або створити контакт"),
        Step("crm_activity", crm_activity, "CRM: активність"),
    ), key=lambda p: p["webhook_id"])
