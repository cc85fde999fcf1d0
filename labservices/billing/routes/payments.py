"""Billing over HTTP: each order's payment, and the webhook the payments service calls."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from labservices.common import error_responses
from labservices.common.deps import from_state

from ..service import Billing
from ..store import STATUSES, StoreDep

router = APIRouter(tags=["Payments"])
BillingDep = Annotated[Billing, Depends(from_state("billing"))]


class OrderPayment(BaseModel):
    order_id: str
    payment_intent: str | None = Field(description="The intent at the payments service (pi_…)")
    amount: int = Field(description="Minor units (kopiykas)")
    status: Literal["requested", "succeeded", "failed", "refunded"]
    reason: str | None
    order_cancelled: bool
    updated_at: str


class WebhookAccepted(BaseModel):
    received: bool = True
    outcome: str = Field(examples=["paid"])


@router.get("/api/payments", response_model=list[OrderPayment])
def list_payments(store: StoreDep, status: Literal[STATUSES] | None = None,  # type: ignore[valid-type]
                  limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict]:
    """Each order's payment, newest first."""
    return store.payments(status, limit)


@router.get("/api/payments/{order_id}", response_model=OrderPayment, responses=error_responses(404))
def get_payment(order_id: Annotated[str, Path(max_length=64)], store: StoreDep) -> dict:
    """One order's payment."""
    return store.payment(order_id)


@router.post("/webhooks/payments", response_model=WebhookAccepted, responses=error_responses(401, 503))
async def payments_webhook(request: Request, billing: BillingDep) -> WebhookAccepted:
    """Where the payments service delivers payment_intent.* events (verified with Standard Webhooks)."""
    body = await request.body()
    outcome = await billing.webhook(body, {k.lower(): v for k, v in request.headers.items()})
    return WebhookAccepted(outcome=outcome)
