"""Shipping: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path, Query
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, create_app, error_responses, novaposhta
from labservices.common.declaration import Instance
from labservices.common.events import EventBus

from . import SERVICE
from .service import Shipping
from .store import Store, StoreDep

DESCRIPTION = """Ships an order when two other services have each said their part.

Shipping listens for `InventoryReserved` and `PaymentProcessed`; they come in any order, maybe
twice, and shipping ships once, when both are in. It then calls the carrier (a Nova Poshta-shaped
API) for a waybill and publishes `OrderShipped`. A carrier that is down or refuses is retried
after 1 s, 5 s and 15 s; then the event is dead-lettered to `shipping.events.dead`.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHIPPING_", extra="ignore")

    carrier_api_key: str = Field(novaposhta.SANDBOX_KEY, description="The carrier's apiKey")


class ShipmentPublic(BaseModel):
    order_id: str
    status: Literal["waiting", "ready", "shipped", "cancelled"] = Field(
        description="waiting for stock and payment, ready to ship, shipped, or cancelled")
    stock_reserved: bool
    paid: bool
    recipient: dict | None
    waybill: str | None = Field(description="The carrier's IntDocNumber")
    estimated_delivery: str | None
    shipped_at: str | None
    updated_at: str


router = APIRouter(prefix="/api/shipments", tags=["Shipments"])


@router.get("", response_model=list[ShipmentPublic])
def list_shipments(store: StoreDep, status: Literal["waiting", "ready", "shipped", "cancelled"] | None = None,
                   limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict]:
    """Shipments, newest first, with what shipping has heard about each order."""
    return store.shipments(status, limit)


@router.get("/{order_id}", response_model=ShipmentPublic, responses=error_responses(404))
def get_shipment(order_id: Annotated[str, Path(max_length=64)], store: StoreDep) -> dict:
    """One order's shipment."""
    return store.shipment(order_id)


def build_app(instance: Instance | None = None) -> FastAPI:
    """Shipping with its own database and its side of the bus."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    bus = EventBus(SERVICE.name, store.db)
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Shipments", "description": "What shipping heard and shipped."}])
    shipping = Shipping(store, bus, app.state.client, settings.carrier_api_key)
    bus.subscribe("OrderCreated")(shipping.remember_order)
    bus.subscribe("InventoryReserved")(shipping.stock_reserved)
    bus.subscribe("PaymentProcessed")(shipping.paid)
    bus.subscribe("OrderCancelled")(shipping.cancelled)
    app.state.store = store
    bus.attach(app)
    return app
