"""What the middleware's webhooks accept: a new order from the shop."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labservices.common.inputs import STRICT, Email, Int

Input = ConfigDict(extra="forbid", str_max_length=1_000, **STRICT)


class Customer(BaseModel):
    model_config = Input
    email: Email
    first_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""


class Line(BaseModel):
    model_config = Input
    sku: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{1,40}$")] = Field(examples=["EL-001"])
    quantity: Int = Field(ge=1, le=1000)
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    unit_price: float | None = Field(default=None, ge=0, le=10_000_000, allow_inf_nan=False)


class NewOrder(BaseModel):
    """The shop's "order created" webhook, as the lecture's workflow receives it."""

    model_config = ConfigDict(extra="forbid", **STRICT, json_schema_extra={"examples": [{
        "order_id": "order-1001", "customer": {"email": "olena.kovalenko@example.com", "first_name": "Олена",
                                               "last_name": "Коваленко"},
        "items": [{"sku": "ABC", "quantity": 2, "title": "Бездротова миша Logitech M185", "unit_price": 549}],
        "total": 1098, "currency": "UAH", "payment_method": "pm_card_visa"}]})
    order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]
    customer: Customer
    items: list[Line] = Field(min_length=1, max_length=50)
    total: float = Field(gt=0, le=10_000_000, allow_inf_nan=False, description="UAH")
    currency: Literal["UAH", "USD", "EUR"] = "UAH"
    payment_method: Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,40}$")] = "pm_card_visa"


class MailerTrigger(BaseModel):
    model_config = ConfigDict(extra="forbid", **STRICT)
    list_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{10}$")] = "a1b2c3d4e5"
