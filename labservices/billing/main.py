"""Billing: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, create_app
from labservices.common.declaration import Instance
from labservices.common.events import EventBus

from . import SERVICE
from .routes import payments
from .service import Billing
from .store import Store

DESCRIPTION = """The lecture's Payment Service: it charges orders at the Stripe-like payments service.

On `OrderCreated` it creates a payment intent (the event's id is the `Idempotency-Key`, so a
redelivered event never charges twice) and waits: the card's outcome arrives as a signed webhook
(`POST /webhooks/payments`, verified with Standard Webhooks), and only then does billing publish
`PaymentProcessed` or `PaymentFailed`. On `OrderCancelled` a succeeded payment is refunded.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")


def build_app(instance: Instance | None = None) -> FastAPI:
    """Billing with its own database, its bus and its webhook endpoint at payments."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    bus = EventBus(SERVICE.name, store.db)
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[payments.router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Payments", "description": "Each order's payment and the webhook."}])
    billing = Billing(store, bus, app.state.client, settings.public_url or (instance or SERVICE).url)
    bus.subscribe("OrderCreated")(billing.charge)
    bus.subscribe("OrderCancelled")(billing.refund_cancelled)
    app.state.store, app.state.billing = store, billing
    app.state.workers.append(billing.hooks.keep)
    bus.attach(app)
    return app
