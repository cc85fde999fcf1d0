"""Refunds: money back for a succeeded payment (``charge.refunded``), as a saga's compensation needs it."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from labservices.common import error_responses
from labservices.common.idempotency import Idempotency, IdempotencyKey

from ..models import RefundCreate, RefundPublic, RefundsPublic
from ..store import StoreDep

router = APIRouter(prefix="/api/refunds", tags=["Refunds"])


@router.post("", status_code=201, response_model=RefundPublic, responses=error_responses(400, 404, 409, 422))
async def create_refund(body: RefundCreate, request: Request, store: StoreDep,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Refund a succeeded payment, all of it or ``amount`` (event charge.refunded); Idempotency-Key makes it safe."""
    idem = Idempotency.of(idempotency_key, request=body.model_dump(mode="json"))
    status, refund, replayed = await run_in_threadpool(store.refund, body.payment_intent, body.amount, body.reason,
                                                       idem)
    headers = {"Location": f"{request.url.path}/{refund['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(refund, status_code=status, headers=headers)


@router.get("", response_model=RefundsPublic, responses=error_responses(400))
def list_refunds(store: StoreDep,
                 payment_intent: Annotated[str | None, Query(pattern=r"^pi_[A-Za-z0-9]{1,40}$")] = None,
                 limit: Annotated[int, Query(ge=1, le=100)] = 20) -> RefundsPublic:
    """Refunds, newest first; ?payment_intent= for one payment's."""
    return RefundsPublic(data=store.list_refunds(payment_intent, limit))
