"""The Product Service: what the lecture's synchronous ``create_order`` calls, and the saga's first step."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict
from starlette.concurrency import run_in_threadpool

from labservices.common import ServiceSettings, create_app, error_responses
from labservices.common.declaration import Instance
from labservices.common.deps import from_state
from labservices.common.events import EventBus
from labservices.common.http import base_url
from labservices.common.idempotency import IdempotencyKey
from labservices.common.pagination import PageDep, Pagination, page_headers

from . import SERVICE
from . import events as catalog_events
from .store import Store

DESCRIPTION = """The lecture's **Product Service**: products, prices, stock, and reservations.

Its synchronous example calls exactly this service::

    product = requests.get(f"{catalog}/api/products/{product_id}").json()
    if product["stock"] < quantity: raise InsufficientStock()
    requests.post(f"{catalog}/api/products/{product_id}/reserve", json={"quantity": quantity})

It runs as **two copies**, `catalog` and `catalog-2`, on two ports with one database, as two
replicas of a stateless service do. Each registers with the registry while it runs; every answer
says which copy gave it (`X-Served-By`). A reservation holds stock until it is released (a
cancelled order, a saga's compensation) or committed (the parcel left); sending the same request
with the same `Idempotency-Key` (or for the same `order_id`) reserves once.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")


class ProductPublic(BaseModel):
    id: str = Field(examples=["ABC"])
    name: str
    category: Literal["electronics", "books", "home", "accessories"]
    price: int = Field(description="UAH")
    currency: Literal["UAH"] = "UAH"
    stock: int = Field(description="What can still be reserved")
    reserved: int = Field(description="Held by reservations now")


class ProductsPublic(BaseModel):
    data: list[ProductPublic]
    pagination: Pagination


class ReserveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quantity": 2}]})
    quantity: int = Field(ge=1, le=1000)
    order_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                                 description="The order it is for: reserving twice for one order reserves once")


class StockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stock: int = Field(ge=0, le=1_000_000)


class ReservationPublic(BaseModel):
    reservation_id: str
    product_id: str
    quantity: int
    order_id: str | None
    status: Literal["held", "released", "committed"]
    served_by: str = Field(description="The copy that made it")
    created_at: str
    updated_at: str


StoreDep = Annotated[Store, Depends(from_state("store"))]
ProductId = Annotated[str, Path(pattern=r"^[A-Z]{2,3}(-[0-9]{3})?$", examples=["ABC", "EL-001"])]
ReservationId = Annotated[str, Path(pattern=r"^rsv_[0-9a-f]{16}$")]


async def served_by(request: Request, response: Response) -> None:
    """Every answer says which copy gave it: what round robin and failover look like from outside."""
    response.headers["X-Served-By"] = request.app.state.service


products = APIRouter(prefix="/api/products", tags=["Products"], dependencies=[Depends(served_by)])
reservations = APIRouter(prefix="/api/reservations", tags=["Reservations"], dependencies=[Depends(served_by)])


@products.get("", response_model=ProductsPublic, responses=error_responses(400))
def list_products(request: Request, response: Response, store: StoreDep, page: PageDep,
                  category: Literal["electronics", "books", "home", "accessories"] | None = None) -> dict:
    """Products with their stock, a page at a time (``?category=electronics``)."""
    data, total = store.products(category, page.offset, page.size)
    page_headers(request, response, page, total)
    return {"data": data, "pagination": page.meta(total)}


@products.get("/{product_id}", response_model=ProductPublic, responses=error_responses(400, 404))
def get_product(product_id: ProductId, store: StoreDep) -> dict:
    """One product: the lecture's ``product["stock"]`` is what can still be reserved."""
    return store.product(product_id)


@products.post("/{product_id}/reserve", status_code=201, response_model=ReservationPublic,
               responses={**error_responses(400, 404, 409, 422), 200: {"description": "The same reservation again"}})
async def reserve(product_id: ProductId, body: ReserveRequest, request: Request, store: StoreDep,
                  idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Hold ``quantity`` for an order: 201 and the reservation, or 409 ``INSUFFICIENT_STOCK``."""
    found, replayed = await run_in_threadpool(store.reserve, product_id, body.quantity, body.order_id,
                                              idempotency_key, request.app.state.service)
    headers = {"Location": f"{base_url(request)}/api/reservations/{found['reservation_id']}",
               "X-Served-By": request.app.state.service}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(found, status_code=200 if replayed else 201, headers=headers)


@products.put("/{product_id}/stock", response_model=ProductPublic, responses=error_responses(400, 404))
def set_stock(product_id: ProductId, body: StockUpdate, store: StoreDep) -> dict:
    """Set what can be reserved (a delivery came, or a notebook sells a product out)."""
    return store.set_stock(product_id, body.stock)


@reservations.get("", response_model=list[ReservationPublic], responses=error_responses(400))
def list_reservations(store: StoreDep,
                      order_id: Annotated[str | None, Query(max_length=64)] = None,
                      status: Literal["held", "released", "committed"] | None = None,
                      limit: Annotated[int, Query(ge=1, le=100)] = 50) -> list[dict]:
    """Reservations, newest first (``?order_id=`` for one order's)."""
    return store.reservations(order_id, status, limit)


@reservations.get("/{reservation_id}", response_model=ReservationPublic, responses=error_responses(400, 404))
def get_reservation(reservation_id: ReservationId, store: StoreDep) -> dict:
    return store.reservation(reservation_id)


@reservations.post("/{reservation_id}/release", response_model=ReservationPublic,
                   responses=error_responses(400, 404, 409))
def release(reservation_id: ReservationId, store: StoreDep) -> dict:
    """Put the stock back (a compensation): releasing twice is harmless, a committed one is 409."""
    return store.release(reservation_id)


@reservations.post("/{reservation_id}/commit", response_model=ReservationPublic,
                   responses=error_responses(400, 404, 409))
def commit(reservation_id: ReservationId, store: StoreDep) -> dict:
    """The stock left with the parcel: the reservation is final (committing twice is harmless)."""
    return store.commit(reservation_id)


def build_app(instance: Instance | None = None) -> FastAPI:
    """One copy of the catalog: the shared database, its side of the bus, registered in the registry."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(SERVICE.name))
    bus = EventBus(SERVICE.name, store.db)
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[products, reservations], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Products", "description": "Products, stock, reserve."},
                                   {"name": "Reservations", "description": "Held, released, committed."}])
    catalog_events.subscribe(bus, app.state.service)
    app.state.store = store
    bus.attach(app)
    return app
