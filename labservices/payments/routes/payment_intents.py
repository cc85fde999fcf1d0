"""Payment intents: create (with Idempotency-Key), list, read, confirm with a test card, cancel."""
from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from labservices.common import ApiError, error_responses
from labservices.common.idempotency import Idempotency, IdempotencyKey

from ..deps import FlakyDep, IntentPath
from ..models import IntentStatus, PaymentIntentConfirm, PaymentIntentCreate, PaymentIntentPublic, PaymentIntentsPublic
from ..store import StoreDep

router = APIRouter(prefix="/api/payment_intents", tags=["Payment intents"])



@router.post("", status_code=201, response_model=PaymentIntentPublic,
             responses=error_responses(400, 409, 422, 429, 500, 503))
async def create_intent(body: PaymentIntentCreate, request: Request, store: StoreDep, flaky: FlakyDep,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Create a payment intent (event payment_intent.created); send Idempotency-Key to retry safely."""
    arrived, failure = flaky.now(), flaky.take()
    if failure in ("500", "502", "503", "429"):
        flaky.record(arrived, idempotency_key, failure, int(failure[:3]), None)
        retry = {"Retry-After": str(flaky.config.retry_after_s)} if failure == "429" else None
        raise ApiError(int(failure), message="Збій, внесений перемикачем /admin/flaky", headers=retry)
    idem = Idempotency.of(idempotency_key, request=body.model_dump(mode="json"))
    status, intent, replayed = await run_in_threadpool(store.create_intent, body.model_dump(), idem)
    flaky.record(arrived, idempotency_key, failure or ("replayed" if replayed else "ok"),
                 500 if failure == "500_after_commit" else status, intent["id"])
    if failure == "500_after_commit":
        raise ApiError(500, message="Платіж створено, але відповідь втрачено (перемикач /admin/flaky)")
    if failure == "timeout":
        await asyncio.sleep(flaky.config.hold_s)
    headers = {"Location": f"{request.url.path}/{intent['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(intent, status_code=status, headers=headers)


@router.get("", response_model=PaymentIntentsPublic, responses=error_responses(400))
def list_intents(store: StoreDep,
                 order_id: Annotated[str | None, Query(max_length=500, description="metadata.order_id, e.g. 6735")] = None,
                 status: IntentStatus | None = None,
                 limit: Annotated[int, Query(ge=1, le=100)] = 20) -> PaymentIntentsPublic:
    """List payment intents, newest first; ?order_id= finds those whose metadata names that order."""
    return PaymentIntentsPublic(data=store.list_intents(order_id, status, limit))


@router.get("/{intent_id}", response_model=PaymentIntentPublic, responses=error_responses(400, 404))
def get_intent(intent_id: IntentPath, store: StoreDep) -> dict:
    """Get one payment intent."""
    return store.get_intent(intent_id)


@router.post("/{intent_id}/confirm", response_model=PaymentIntentPublic, responses=error_responses(400, 404, 409))
def confirm_intent(intent_id: IntentPath, store: StoreDep, body: PaymentIntentConfirm | None = None) -> dict:
    """Pay: pm_card_visa succeeds (payment_intent.succeeded), pm_card_chargeDeclined or fail=true fails."""
    body = body or PaymentIntentConfirm()
    return store.confirm_intent(intent_id, body.payment_method, body.fail)


@router.post("/{intent_id}/cancel", response_model=PaymentIntentPublic, responses=error_responses(400, 404, 409))
def cancel_intent(intent_id: IntentPath, store: StoreDep) -> dict:
    """Cancel an intent that has not succeeded (payment_intent.canceled)."""
    return store.cancel_intent(intent_id)
