"""Notifications: its app, its templates and its subscriptions."""
from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from labservices.common import Database, ServiceSettings, create_app
from labservices.common.clock import iso
from labservices.common.declaration import Instance
from labservices.common.mail import SendError, send_email
from labservices.common.events import Event, EventBus, Transient
from labservices.common.events import contracts as c

from . import SERVICE

DESCRIPTION = """The lecture's Notification Service: it emails the customer when something happens to an order.

It subscribes to `OrderCreated`, `OrderShipped`, `PaymentFailed` and `OrderCancelled` and sends
each email over SMTP to the lab's mailbox (read it at the mailbox service). Each email's
`Message-ID` comes from the event's id, so a retried send is kept once. Stop this service, place
orders, start it again: the events waited in its queue and every email goes out.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (order_id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sent (
    event_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, type TEXT NOT NULL, recipient TEXT NOT NULL,
    subject TEXT NOT NULL, sent_at REAL NOT NULL
);
"""

SENDER = "Інтернет-магазин лабораторії <shop@integration-lab.local>"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")


class SentPublic(BaseModel):
    event_id: str
    order_id: str
    type: str
    recipient: str
    subject: str
    sent_at: str


def letter(event: Event, name: str) -> tuple[str, str] | None:
    """Subject and text of the email an event calls for (Ukrainian, as the customer reads it)."""
    short = (event.subject or "")[:8]
    if event.type == "OrderCreated":
        order = event.parse(c.OrderCreated)
        lines = "\n".join(f"  {line.title or line.sku} × {line.quantity}" for line in order.items)
        return (f"Замовлення {short} прийнято",
                f"Вітаємо, {name}!\n\nМи отримали ваше замовлення {order.order_id}:\n{lines}\n"
                f"Разом: {order.total} грн.\n\nЛист про відправлення надійде окремо.")
    if event.type == "OrderShipped":
        shipped = event.parse(c.OrderShipped)
        return (f"Замовлення {short} відправлено",
                f"{name}, ваше замовлення в дорозі.\nНомер накладної: {shipped.waybill}\n"
                f"Очікувана дата доставки: {shipped.estimated_delivery or 'невідома'}.")
    if event.type == "PaymentFailed":
        return (f"Оплата замовлення {short} не пройшла",
                f"{name}, банк відхилив оплату: {event.parse(c.PaymentFailed).reason}.")
    if event.type == "OrderCancelled":
        return (f"Замовлення {short} скасовано", f"{name}, замовлення скасовано: {event.parse(c.OrderCancelled).reason}.")
    return None


def build_app(instance: Instance | None = None) -> FastAPI:
    """Notifications with its own database (who to write to, what was sent) and its bus."""
    settings = Settings.for_instance(instance)
    db = Database(settings.database_path(instance.name if instance else SERVICE.name), SCHEMA)
    bus = EventBus(SERVICE.name, db)

    def customer(order_id: str) -> tuple[str, str] | None:
        with db.tx() as conn:
            row = conn.execute("SELECT name, email FROM customers WHERE order_id = ?", (order_id,)).fetchone()
            return (row["name"], row["email"]) if row else None

    @bus.subscribe("OrderCreated", "OrderShipped", "PaymentFailed", "OrderCancelled")
    async def notify(event: Event):
        """Write to the customer about what happened to their order."""
        order_id = event.data.get("order_id") or event.subject or ""
        if event.type == "OrderCreated":
            order = event.parse(c.OrderCreated)
            who = (order.customer.name or "покупцю", order.customer.email)
        else:
            who = await asyncio.to_thread(customer, order_id)
        if not who or not who[1]:
            return None  # an order notifications never heard of (created before it subscribed): nobody to write to
        subject, text = letter(event, who[0])
        try:
            await send_email(SENDER, who[1], subject, text, seed=event.id.replace("-", ""))
        except SendError as exc:
            raise Transient(f"the mail server did not take the message: {type(exc).__name__}: {exc}") from None

        def record(tx) -> None:
            if event.type == "OrderCreated":
                tx.execute("INSERT OR IGNORE INTO customers VALUES (?,?,?)", (order_id, who[0], who[1]))
            tx.execute("INSERT OR IGNORE INTO sent VALUES (?,?,?,?,?,?)",
                       (event.id, order_id, event.type, who[1], subject, time.time()))
        return record

    router = APIRouter(tags=["Notifications"])

    @router.get("/api/notifications", response_model=list[SentPublic])
    def list_sent(order_id: Annotated[str | None, Query(max_length=64)] = None,
                  limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict]:
        """Emails sent, newest first; ?order_id= for one order's."""
        with db.tx() as conn:
            where, args = ("WHERE order_id = ?", [order_id]) if order_id else ("", [])
            rows = conn.execute(f"SELECT * FROM sent {where} ORDER BY sent_at DESC LIMIT ?", [*args, limit])
            return [{**dict(r), "sent_at": iso(r["sent_at"], ms=True)} for r in rows]

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router], reset=db.reset, on_stop=[db.close],
                     openapi_tags=[{"name": "Notifications", "description": "Emails sent to customers."}])
    app.state.store = db
    bus.attach(app)
    return app
