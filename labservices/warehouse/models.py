"""The warehouse's schemas."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labservices.common.inputs import STRICT, Int, trimmed

Input = ConfigDict(extra="forbid", str_max_length=1_000, **STRICT)
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{1,40}$"), Field(examples=["EL-001"])]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,64}$"), Field(examples=["order-1001"])]


class StockPublic(BaseModel):
    sku: str
    title: str
    on_hand: int = Field(description="Units on the shelves")
    reserved: int = Field(description="Units held for orders not shipped yet")
    available: int = Field(description="on_hand - reserved: what a new order can get")


class StockUpdate(BaseModel):
    model_config = Input
    on_hand: Int = Field(ge=0, le=1_000_000, description="Units on the shelves now (a stock count, a delivery)")


class Line(BaseModel):
    model_config = Input
    sku: Sku
    quantity: Int = Field(ge=1, le=1000)


class ReservationCreate(BaseModel):
    model_config = Input
    order_id: OrderId
    items: list[Line] = Field(min_length=1, max_length=50)


class Recipient(BaseModel):
    model_config = Input
    name: trimmed(100) = Field(
        examples=["Олена Коваленко"])
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{9,15}$")] = "380000000000"
    city: trimmed(60) = "Київ"
    warehouse: trimmed(100) = "Відділення №1"


class Shipment(BaseModel):
    model_config = Input
    recipient: Recipient


class ReservationPublic(BaseModel):
    order_id: str
    status: Literal["reserved", "released", "shipped"]
    items: list[dict]
    waybill: str | None
    estimated_delivery: str | None
    created_at: str
    updated_at: str


class SyncPublic(BaseModel):
    sku: str
    in_stock: bool = Field(description="What the shop should show")
    status: Literal["pending", "synced", "failed", "not_in_shop"]
    attempts: int
    shop_product_id: int | None
    last_error: str | None
    updated_at: str
