"""Invoices, payment records, reconciliation and the daily report."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labservices.common import error_responses
from labservices.common.inputs import STRICT
from labservices.common.http import LabRouter

from ..store import StoreDep, today

router = LabRouter(prefix="/api", tags=["Books"])
Day = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD (UTC)")]
OrderQuery = Annotated[str | None, Query(max_length=64)]


class InvoiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", **STRICT)
    order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")]
    amount: float = Field(gt=0, le=10_000_000, allow_inf_nan=False, description="UAH", examples=[455.49])
    currency: Literal["UAH", "USD", "EUR"] = "UAH"
    customer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


@router.get("/invoices")
def list_invoices(store: StoreDep, order_id: OrderQuery = None) -> list[dict]:
    """Invoices with what has been paid on each (status open, partially_paid, paid, overpaid)."""
    return store.invoices(order_id)


@router.post("/invoices", status_code=201, responses={200: {"description": "The order is invoiced already"},
                                                      **error_responses(400, 415)})
def create_invoice(body: InvoiceCreate, store: StoreDep) -> JSONResponse:
    """Invoice an order by hand (201); an order is invoiced once (200 with its invoice)."""
    invoice, created = store.create_invoice(body.order_id, round(body.amount * 100), body.currency, body.customer,
                                            "manual")
    return JSONResponse(invoice, status_code=201 if created else 200)


@router.get("/invoices/{number}", responses=error_responses(400, 404))
def get_invoice(number: Annotated[str, Path(pattern=r"^INV-\d{1,9}$")], store: StoreDep) -> dict:
    """One invoice."""
    return store.invoice(number)


@router.get("/payments")
def list_payments(store: StoreDep, order_id: OrderQuery = None) -> list[dict]:
    """Payments and refunds as recorded (from payments' webhooks and LiqPay callbacks)."""
    return store.payments(order_id)


@router.get("/reconciliation", responses=error_responses(400))
def reconciliation(store: StoreDep, date: Day = None) -> dict:
    """Payments against invoices per order: matched, and every mismatch named (unpaid, overpaid...)."""
    return store.reconcile(date)


@router.get("/reports/daily.csv", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "One row per order"}, **error_responses(400)})
def daily_report(store: StoreDep, date: Day = None) -> Response:
    """The day's reconciliation as CSV (default: today, UTC)."""
    day = date or today()
    return Response(store.daily_csv(day), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="accounting-{day}.csv"'})
