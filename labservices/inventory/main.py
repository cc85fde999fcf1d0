"""Inventory: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, create_app
from labservices.common.declaration import Instance
from labservices.common.events import EventBus

from . import SERVICE, events
from .routes import stock
from .store import Store

DESCRIPTION = """Stock per SKU, reserved for orders by events, not by calls.

Inventory subscribes to `OrderCreated` on the lab's event bus (its own durable queue
`inventory.events`) and answers with `InventoryReserved` or `InventoryRejected`; `OrderCancelled`
releases the stock (`InventoryReleased`), `OrderShipped` lets it leave. Each event is processed
once (an inbox), a failing one is retried after 1 s, 5 s and 15 s, a poison one is dead-lettered
to `inventory.events.dead`. Nothing here calls the orders service, and orders never calls here.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")


def build_app(instance: Instance | None = None) -> FastAPI:
    """Inventory with its own database and its side of the event bus."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    bus = EventBus(SERVICE.name, store.db)
    events.subscribe(bus)
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[stock.router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Stock", "description": "Stock and reservations."}])
    app.state.store = store
    bus.attach(app)
    return app
