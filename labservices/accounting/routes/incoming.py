"""Where money news arrives: the payments service's webhook and LiqPay's callback (and LiqPay's checkout form)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labservices.common import error_responses
from labservices.common.inputs import STRICT
from labservices.common.deps import from_state

from .. import liqpay
from ..service import Accounting
from ..settings import SettingsDep

router = APIRouter(tags=["Incoming"])
AccountingDep = Annotated[Accounting, Depends(from_state("accounting"))]
Field64k = Annotated[str, Form(min_length=1, max_length=65_536)]


class Checkout(BaseModel):
    model_config = ConfigDict(extra="forbid", **STRICT)
    order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]
    amount: float = Field(gt=0, le=10_000_000, allow_inf_nan=False, examples=[455.49])
    currency: Literal["UAH", "USD", "EUR"] = "UAH"
    description: Annotated[str, StringConstraints(max_length=200)] = "Оплата замовлення"


@router.post("/webhooks/payments", responses=error_responses(400, 401, 503))
async def payments_webhook(request: Request, accounting: AccountingDep) -> dict:
    """Deliveries from the payments service (Standard Webhooks): invoices, payments, refunds."""
    outcome = await accounting.payments_webhook(await request.body(), {k.lower(): v for k, v in request.headers.items()})
    return {"received": True, "outcome": outcome}


@router.post("/liqpay/callback", responses=error_responses(400, 401))
def liqpay_callback(data: Field64k, signature: Annotated[str, Form(min_length=1, max_length=200)], accounting: AccountingDep,
                    settings: SettingsDep) -> dict:
    """LiqPay's server_url: form fields data (base64 JSON) and signature (base64 SHA-1), verified first."""
    return accounting.liqpay_callback(settings.liqpay_private_key, data, signature)


@router.post("/api/liqpay/checkout", responses=error_responses(400, 415))
def liqpay_checkout(body: Checkout, settings: SettingsDep) -> dict:
    """What a shop puts in LiqPay's checkout form for an order: data and its signature."""
    data = liqpay.encode({"public_key": settings.liqpay_public_key, "version": 3, "action": "pay",
                          "amount": body.amount, "currency": body.currency, "description": body.description,
                          "order_id": body.order_id})
    return {"data": data, "signature": liqpay.signature(settings.liqpay_private_key, data),
            "action": "https://www.liqpay.ua/api/3/checkout"}
