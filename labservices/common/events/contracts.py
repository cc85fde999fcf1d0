"""The data of the lab's events: what each publisher promises and what its subscribers read.

Subscribers read with these models as *tolerant readers*: fields they do not know are ignored,
fields they need must be there (or the event is poison and is dead-lettered).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Line(_Data):
    sku: str = Field(min_length=1, max_length=40)
    quantity: int = Field(ge=1, le=1000)
    title: str | None = None
    unit_price: int | None = Field(default=None, ge=0)


class Customer(_Data):
    id: str | None = None
    name: str = ""
    email: str = ""


class Shipping(_Data):
    city: str = "Київ"
    warehouse: str = "Відділення №1"


class OrderCreated(_Data):
    """Orders: a new order (``subject`` is its id)."""

    order_id: str
    customer: Customer = Field(default_factory=Customer)
    items: list[Line] = Field(min_length=1, max_length=50)
    total: int = Field(ge=0)
    currency: str = "UAH"
    payment_method: str = "pm_card_visa"
    shipping: Shipping = Field(default_factory=Shipping)
    stock_by: Literal["inventory", "catalog"] = Field(
        "inventory", description="Who keeps this order's stock: inventory (notebook 04) or the catalog (notebook 05)")
    stock: Literal["pending", "reserved"] = Field(
        "pending", description="reserved: the order was placed synchronously, its stock is held already")


class OrderConfirmed(_Data):
    """Middleware (notebook 08): an order from the shop that the integration workflow saw through, paid."""

    order_id: str
    items: list[Line] = Field(min_length=1, max_length=50)
    total: float = Field(ge=0)
    currency: str = "UAH"
    paid: int = Field(default=0, ge=0, description="Minor units (kopiykas), as payments counts")


class OrderCancelled(_Data):
    order_id: str
    reason: str = ""


class InventoryReserved(_Data):
    order_id: str
    items: list[Line] = Field(default_factory=list)


class InventoryRejected(_Data):
    order_id: str
    reason: str = ""


class PaymentProcessed(_Data):
    order_id: str
    payment_id: str
    amount: int = 0


class PaymentFailed(_Data):
    order_id: str
    reason: str = ""


class OrderShipped(_Data):
    order_id: str
    waybill: str
    carrier: str = "nova-poshta"
    estimated_delivery: str | None = None
