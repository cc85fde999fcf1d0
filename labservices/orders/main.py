"""Orders: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

import asyncio

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, create_app
from labservices.common.declaration import Instance
from labservices.common.discovery import Resolver
from labservices.common.events import EventBus
from labservices.common.resilience import Breaker, breakers_router

from . import SERVICE
from .domain import Orders
from .routes import orders as orders_routes
from .service import OrdersService
from .store import Store
from .sync import Catalog

DESCRIPTION = """Orders, event-sourced: an order is the fold of its events, which are never changed.

`POST /api/orders` records the order's first event (`Created`) in the event store and answers
201 at once; `GET /api/orders/{id}/events` shows its stream, `?version=N` its state after N
events. A log tailer reads the event store's notification log into an outbox, and a relay
publishes `OrderCreated` and `OrderCancelled` to the bus once RabbitMQ confirms them: stop the
bus and orders still take orders; start it and every pending event goes out. Orders listens to
`InventoryReserved/Rejected`, `PaymentProcessed/Failed` and `OrderShipped`, and cancels the
order itself when stock or payment fails (choreography: nobody tells it to).

`POST /api/orders/sync` is the lecture's **synchronous** `create_order` beside it: it asks the
catalog (found through the registry) for the product, checks the stock and reserves it before the
order exists, with a timeout, retries and a circuit breaker (`GET /admin/breakers`). When the
catalog cannot be reached it falls back to the asynchronous path (202, `X-Fallback`).
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore")

    catalog_timeout_s: float = Field(2.0, gt=0, le=30, description="Timeout of each call to the catalog")
    catalog_attempts: int = Field(3, ge=1, le=10, description="Tries per call to the catalog (tenacity)")
    breaker_fail_max: int = Field(5, ge=1, le=100, description="Failures in a row that open the catalog's circuit")
    breaker_reset_s: float = Field(10.0, gt=0, le=600, description="Seconds the circuit stays open before a trial")


def build_app(instance: Instance | None = None) -> FastAPI:
    """Orders with its event store, its own database (read model, outbox, inbox) and its bus."""
    name = instance.name if instance else SERVICE.name
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(name))
    event_store_path = settings.database_path(name).with_name(f"{name}-events.sqlite3")

    def open_events() -> Orders:
        return Orders(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(event_store_path)})

    bus = EventBus(SERVICE.name, store.db)
    service = OrdersService(open_events(), store, bus)

    @bus.subscribe("InventoryReserved", "InventoryRejected", "PaymentProcessed", "PaymentFailed", "OrderShipped")
    async def record(event) -> None:
        """What other services said about an order becomes one of its events (idempotent by the order's state)."""
        await asyncio.to_thread(service.react, event)

    def reset() -> None:
        """Forget every order: a new, empty event store (an event store is never edited, only replaced)."""
        service.events.close()
        for suffix in ("", "-wal", "-shm"):
            event_store_path.with_name(event_store_path.name + suffix).unlink(missing_ok=True)
        service.events = open_events()
        store.reset()
        breaker.reset()

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[orders_routes.router, breakers_router()], reset=reset, workers=[service.follow],
                     on_stop=[store.db.close, lambda: service.events.close()],
                     openapi_tags=[{"name": "Orders", "description": "Event-sourced orders."}])
    app.state.store, app.state.orders = store, service
    breaker = Breaker("catalog", app.state.metrics, fail_max=settings.breaker_fail_max,
                      reset_timeout=settings.breaker_reset_s)
    app.state.breakers = {"catalog": breaker}
    app.state.catalog = Catalog(Resolver(app.state.client), breaker, timeout_s=settings.catalog_timeout_s,
                                attempts=settings.catalog_attempts)
    bus.attach(app)
    return app
