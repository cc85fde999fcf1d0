"""The middleware: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI

from labservices.common import create_app
from labservices.common.declaration import Instance, declared
from labservices.common.events import EventBus

from . import SERVICE
from .crm import CrmClient
from .engine import Engine
from .routes import executions, webhooks
from .settings import Settings
from .store import Store
from .workflows import Connections, email_engagement, new_order

DESCRIPTION = """The lecture's integration middleware, as an n8n-like workflow written in Python.

`POST /webhooks/orders` receives a new order and runs the **new-order** workflow: find the
customer in the CRM (create them if missing) → a deal → a reservation in the warehouse → the
payment → a confirmation email → an `OrderConfirmed` event for analytics. Each step is retried
with growing waits while its failure may pass (no answer, 5xx, 429); a failure that will not
pass, or the last retry, stops the run and puts it in the dead letters (`GET /api/dead-letters`),
from where `POST /api/dead-letters/{id}/replay` goes on from the failed step. The same order again
runs nothing (200, `duplicate: true`). `?wait=true` answers when the run is over.

The run history is `GET /api/executions` (and a page at `/executions`, like n8n's executions list).
Every log line of a run carries its `request_id` and `order_id` (`lab logs middleware`), and the
request id goes on to the CRM, the warehouse and payments in `X-Request-ID`.

`POST /api/triggers/mailer` subscribes to the mailer's webhooks; an open or a click then becomes
an activity on the contact in the CRM (**email-engagement**).
"""


def build_app(instance: Instance | None = None) -> FastAPI:
    """The middleware with its own database, its workflows and its side of the event bus."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    bus = EventBus(SERVICE.name, store.db)
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[webhooks.router, executions.router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Triggers", "description": "Webhooks that start workflows."},
                                   {"name": "Executions", "description": "Run history and dead letters."}])
    crm = CrmClient(app.state.client, declared("crm").url, settings.crm_client_id, settings.crm_client_secret)
    connections = Connections(app.state.client, crm, bus, store.db, settings)
    engine = Engine(store, settings, app.state.metrics.registry)
    engine.add(new_order(connections))
    engine.add(email_engagement(connections))
    app.state.store, app.state.engine = store, engine
    app.state.workers.append(engine.resume)
    bus.attach(app)
    return app
