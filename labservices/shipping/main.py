"""Shipping: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, create_app, error_responses, novaposhta
from labservices.common.declaration import Instance
from labservices.common.events import EventBus
from labservices.common.http import base_url
from labservices.common.inputs import STRICT, Int, trimmed

from . import SERVICE
from .service import Shipping
from .store import Store, StoreDep

DESCRIPTION = """Ships an order when two other services have each said their part.

Shipping listens for `InventoryReserved` and `PaymentProcessed`; they come in any order, maybe
twice, and shipping ships once, when both are in. It then calls the carrier (a Nova Poshta-shaped
API) for a waybill and publishes `OrderShipped`. A carrier that is down or refuses is retried
after 1 s, 5 s and 15 s; then the event is dead-lettered to `shipping.events.dead`.

An orchestrated saga (notebook 05) asks instead of telling: `POST /api/shipments` ships an order
now and answers the waybill, or 422 `SHIPPING_REJECTED` when the carrier refuses (a city it does
not serve), or 503 when the carrier is down. It publishes nothing: the orchestrator decides.
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


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid", **STRICT)
    name: trimmed(100) = Field("Одержувач")
    city: trimmed(60) = Field(examples=["Київ"])
    warehouse: trimmed(100) = Field("Відділення №1")


class ShipmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", **STRICT, json_schema_extra={"examples": [
        {"order_id": "saga_1f2e3d4c", "recipient": {"name": "Олена Коваленко", "city": "Київ"}, "total": 1098}]})
    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    recipient: Recipient
    total: Int = Field(0, ge=0, le=10_000_000, description="Declared value, UAH")


router = APIRouter(prefix="/api/shipments", tags=["Shipments"])


@router.post("", status_code=201, response_model=ShipmentPublic,
             responses={**error_responses(400, 409, 422, 503), 200: {"description": "Shipped before: the same one"}})
async def create_shipment(body: ShipmentCreate, request: Request) -> JSONResponse:
    """Ship an order now (an orchestrated saga's step): a waybill from the carrier, or 422 if it refuses.

    Calling again for the same order returns the same shipment (200), never a second parcel.
    """
    shipment, again = await request.app.state.shipping.ship_now(body.order_id, body.recipient.model_dump(),
                                                                 body.total)
    headers = {"Location": f"{base_url(request)}/api/shipments/{body.order_id}"}
    if again:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(shipment, status_code=200 if again else 201, headers=headers)


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
    app.state.shipping = shipping
    bus.attach(app)
    return app
