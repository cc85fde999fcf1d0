"""Accounting: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI

from labservices.common import create_app
from labservices.common.declaration import Instance

from . import SERVICE
from .routes import books, incoming
from .service import Accounting
from .settings import Settings
from .store import Store

DESCRIPTION = """The books: invoices, payments, and whether they agree.

Accounting registers a webhook endpoint at the payments service and keeps it: every
`payment_intent.created` invoices its order (`metadata.order_id`), every `payment_intent.succeeded`
is a payment, every `charge.refunded` a refund — after the Standard Webhooks signature is checked,
and once per event. LiqPay posts to `POST /liqpay/callback` the form fields `data` (base64 JSON)
and `signature` = base64(sha1(private_key + data + private_key)); the sandbox's private key is
`sandbox_lab_private_key_2024`. `GET /api/reconciliation` compares payments with invoices per
order and names every mismatch; `GET /api/reports/daily.csv` is the day's report for the accountant.
"""


def build_app(instance: Instance | None = None) -> FastAPI:
    """Accounting with its own database and its webhook endpoint at payments."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[books.router, incoming.router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Books", "description": "Invoices, payments, reconciliation, reports."},
                                   {"name": "Incoming", "description": "Payments' webhooks and LiqPay's callback."}])
    accounting = Accounting(store, app.state.client, settings.public_url or (instance or SERVICE).url)
    app.state.store, app.state.accounting = store, accounting
    app.state.workers.append(accounting.hooks.keep)
    return app
