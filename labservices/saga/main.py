"""The saga orchestrator's app: start a saga, read its timeline."""
from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict
from starlette.concurrency import run_in_threadpool

from labservices.common import ServiceSettings, create_app, error_responses
from labservices.common.declaration import Instance
from labservices.common.deps import from_state
from labservices.common.http import base_url
from labservices.common.idempotency import IdempotencyKey

from . import SERVICE
from .orchestrator import Orchestrator
from .store import Store

DESCRIPTION = """"Place an order" as an **orchestrated saga**: one service tells each of the others what
to do, in order, and undoes what was done when a step fails.

| step | service | compensation |
|---|---|---|
| create_order | saga (its own database) | reject_order |
| reserve_stock | catalog: `POST /api/products/{id}/reserve` | release_stock |
| charge_payment | payments: a payment intent, confirmed | refund_payment |
| create_shipment | shipping: `POST /api/shipments` (the pivot) | — |
| approve_order | catalog: commit the reservations | — (retried until it succeeds) |

`POST /api/sagas` starts one and answers 202 with its `Location` (add `?wait=10` to wait up to
10 s for the outcome). Make a step fail for real: `pm_card_chargeDeclined` declines the card, a
city the carrier does not serve (`"Ужгород"`) makes shipping refuse, a quantity above the stock
makes the catalog refuse; the compensations of the steps done run in reverse. A service that does
not answer is retried first (4 attempts, backoff with jitter). `GET /api/sagas/{id}` is the
saga's timeline: each step's state and every line of its persisted log. Kill the orchestrator in
the middle of a saga and start it again: it reads its log and finishes or compensates.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SAGA_", extra="ignore")

    step_attempts: int = Field(4, ge=1, le=20, description="Tries of a step on transient failures")
    backoff_s: float = Field(0.5, gt=0, le=30, description="First pause between tries (doubles, with jitter)")
    call_timeout_s: float = Field(5.0, gt=0, le=60)


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: str = Field(pattern=r"^[A-Z]{2,3}(-[0-9]{3})?$", examples=["ABC"])
    quantity: int = Field(ge=1, le=100)


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, examples=["Олена Коваленко"])
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, examples=["olena@example.com"])


class Shipping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str = Field("Київ", min_length=1, max_length=60)
    warehouse: str = Field("Відділення №1", min_length=1, max_length=100)


class PlaceOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "customer": {"name": "Олена Коваленко", "email": "olena@example.com"},
        "items": [{"product_id": "ABC", "quantity": 2}], "payment_method": "pm_card_visa",
        "shipping": {"city": "Київ"}}]})
    customer: Customer
    items: list[Line] = Field(min_length=1, max_length=10)
    payment_method: Literal["pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclined",
                            "pm_card_chargeDeclinedInsufficientFunds"] = "pm_card_visa"
    shipping: Shipping = Field(default_factory=Shipping)


class StepPublic(BaseModel):
    name: str
    status: Literal["pending", "running", "done", "failed", "compensating", "compensated"]
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    started_at: str | None
    finished_at: str | None
    compensated_at: str | None


class LogLine(BaseModel):
    seq: int
    at: str
    t_ms: float = Field(description="Milliseconds since the saga started")
    step: str | None
    kind: str = Field(description="saga_started, step_started, retry, step_succeeded, step_failed, "
                                  "compensation_started, compensated, resumed, saga_completed, saga_compensated")
    detail: str | None


class SagaPublic(BaseModel):
    saga_id: str
    status: Literal["running", "compensating", "completed", "compensated"]
    order_status: Literal["approval_pending", "approved", "rejected"]
    request: dict[str, Any]
    total: int | None = Field(description="UAH, once the catalog priced the lines")
    failed_step: str | None
    reason: str | None
    created_at: str
    updated_at: str
    finished_at: str | None
    duration_ms: float
    steps: list[StepPublic]
    log: list[LogLine] | None = None


StoreDep = Annotated[Store, Depends(from_state("store"))]
SagaId = Annotated[str, Path(pattern=r"^saga_[0-9a-f]{16}$")]
router = APIRouter(prefix="/api/sagas", tags=["Sagas"])


@router.post("", status_code=202, response_model=SagaPublic,
             responses={**error_responses(400, 422), 201: {"description": "Finished within ?wait", "model": SagaPublic}})
async def place_order(body: PlaceOrder, request: Request, store: StoreDep,
                      wait: Annotated[float, Query(ge=0, le=30, description="Seconds to wait for the outcome")] = 0,
                      idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Start the saga: 202 and its Location at once, or (with ``?wait=``) its outcome if it finishes in time."""
    orchestrator: Orchestrator = request.app.state.orchestrator
    saga_id = "saga_" + (uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:16] if idempotency_key
                         else secrets.token_hex(8))
    saga, existed = await run_in_threadpool(store.create, saga_id, idempotency_key, body.model_dump(),
                                            [s.name for s in orchestrator.steps])
    if not existed:
        orchestrator.start(saga_id)
    if wait:
        await orchestrator.wait(saga_id, wait)
        saga = await run_in_threadpool(store.get, saga_id)
    finished = saga["status"] in ("completed", "compensated")
    headers = {"Location": f"{base_url(request)}/api/sagas/{saga_id}"}
    if existed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(saga, status_code=201 if finished and not existed else 200 if existed else 202,
                        headers=headers)


@router.get("", response_model=list[SagaPublic], responses=error_responses(400))
def list_sagas(store: StoreDep, status: Literal["running", "compensating", "completed", "compensated"] | None = None,
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict]:
    """Sagas, newest first, without their logs."""
    return store.list(status, limit)


@router.get("/{saga_id}", response_model=SagaPublic, responses=error_responses(400, 404))
def get_saga(saga_id: SagaId, store: StoreDep) -> dict:
    """One saga's timeline: its steps and every line of its log."""
    return store.get(saga_id)


def build_app(instance: Instance | None = None) -> FastAPI:
    """The orchestrator with its saga log."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(SERVICE.name))
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Sagas", "description": "Start one, read its timeline."}])
    orchestrator = Orchestrator(store, app.state.client, app.state.metrics, attempts=settings.step_attempts,
                                backoff_s=settings.backoff_s, call_timeout_s=settings.call_timeout_s)
    app.state.workers.append(orchestrator.work)
    app.state.store, app.state.orchestrator = store, orchestrator
    return app
