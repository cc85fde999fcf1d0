"""Orders' request and response schemas."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labservices.common.pagination import Pagination

PaymentMethod = Literal["pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclined",
                        "pm_card_chargeDeclinedInsufficientFunds"]
Status = Literal["pending", "awaiting_shipment", "shipped", "cancelled"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["Олена Коваленко"])
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, examples=["olena@example.com"])


class LineIn(Strict):
    sku: str = Field(pattern=r"^[A-Za-z0-9\-]{1,40}$", examples=["EL-001"])
    quantity: int = Field(ge=1, le=100, examples=[1])


class ShippingIn(Strict):
    city: str = Field("Київ", min_length=1, max_length=60)
    warehouse: str = Field("Відділення №1", min_length=1, max_length=100)


class OrderCreate(Strict):
    """A new order: who, what and how they pay (a Stripe test card)."""

    customer: CustomerIn
    items: list[LineIn] = Field(min_length=1, max_length=20)
    payment_method: PaymentMethod = Field("pm_card_visa", description="pm_card_chargeDeclined makes payment fail")
    shipping: ShippingIn = Field(default_factory=ShippingIn)


class OrderCancel(Strict):
    reason: str = Field("Скасовано клієнтом", min_length=1, max_length=200)


class OrderPublic(BaseModel):
    """An order as the fold of its events, at its latest version (or the one asked for)."""

    order_id: str
    version: int = Field(description="How many events the order has had")
    status: Status
    stock: Literal["pending", "reserved", "rejected"]
    stock_by: Literal["inventory", "catalog"] = Field(
        "inventory", description="Who keeps its stock: inventory (placed async, notebook 04) or the catalog (05)")
    payment: Literal["pending", "paid", "declined"]
    customer: dict[str, Any]
    items: list[dict[str, Any]]
    total: int = Field(description="UAH")
    currency: str
    payment_method: str
    shipping: dict[str, Any]
    payment_id: str | None
    waybill: str | None
    reason: str | None
    created_at: str
    updated_at: str


class OrderSummary(BaseModel):
    order_id: str
    status: Status
    total: int
    customer: dict[str, Any]
    version: int
    created_at: str
    updated_at: str


class OrdersPublic(BaseModel):
    data: list[OrderSummary]
    pagination: Pagination


class OrderEvent(BaseModel):
    """One event of an order's stream."""

    version: int
    type: str = Field(examples=["Created"])
    timestamp: str
    data: dict[str, Any]
