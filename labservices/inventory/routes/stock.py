"""Stock per SKU and the reservations that hold it."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from labservices.common import error_responses
from labservices.common.http import LabRouter

from ..store import StoreDep

router = LabRouter(prefix="/api", tags=["Stock"])
Sku = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-]{1,40}$", description="e.g. EL-001")]


class StockPublic(BaseModel):
    sku: str = Field(examples=["EL-001"])
    title: str = Field(examples=["Ноутбук Dell XPS 15"])
    price: int = Field(examples=[45000], description="UAH")
    on_hand: int = Field(examples=[5], description="Units in the warehouse")
    reserved: int = Field(examples=[1], description="Units held for orders not shipped yet")
    available: int = Field(examples=[4], description="on_hand - reserved: what a new order can get")


class StockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_hand: int = Field(ge=0, le=1_000_000, description="Units in the warehouse now")


class ReservationPublic(BaseModel):
    order_id: str
    status: Literal["reserved", "rejected", "released", "shipped"]
    items: dict[str, int] = Field(description="SKU → units")
    reason: str | None = None
    created_at: str
    updated_at: str


@router.get("/stock", response_model=list[StockPublic])
def list_stock(store: StoreDep) -> list[dict]:
    """Every SKU with what is on hand, reserved and available."""
    return store.products()


@router.get("/stock/{sku}", response_model=StockPublic, responses=error_responses(404))
def get_stock(sku: Sku, store: StoreDep) -> dict:
    """One SKU's stock."""
    return store.product(sku)


@router.put("/stock/{sku}", response_model=StockPublic, responses=error_responses(400, 404, 409))
def set_stock(sku: Sku, body: StockUpdate, store: StoreDep) -> dict:
    """Set what is on hand (to make an order fail for lack of stock, set it to 0)."""
    return store.set_stock(sku, body.on_hand)


@router.get("/reservations", response_model=list[ReservationPublic])
def list_reservations(store: StoreDep, status: Literal["reserved", "rejected", "released", "shipped"] | None = None,
                      limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict]:
    """Reservations, newest first; ?status=reserved for those still holding stock."""
    return store.reservations(status, limit)


@router.get("/reservations/{order_id}", response_model=ReservationPublic, responses=error_responses(404))
def get_reservation(order_id: Annotated[str, Path(max_length=64)], store: StoreDep) -> dict:
    """The reservation of one order."""
    return store.reservation(order_id)
