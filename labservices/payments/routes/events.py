"""Events: list and read them, resend one by hand, and trigger any type on demand (like `stripe trigger`)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from labservices.common import error_responses

from ..deps import EventPath
from ..models import DeliveriesPublic, EventPublic, EventsPublic, EventType, Redeliver, TriggerCreate, TriggerResult
from ..store import Store, StoreDep

router = APIRouter(tags=["Events"])


@router.get("/api/events", response_model=EventsPublic, responses=error_responses(400))
def list_events(store: StoreDep, type: EventType | None = None,
                object_id: Annotated[str | None, Query(max_length=64, description="e.g. pi_abc123")] = None,
                limit: Annotated[int, Query(ge=1, le=100)] = 20) -> EventsPublic:
    """List events, newest first, by type or by the object they are about."""
    return EventsPublic(data=store.list_events(type, object_id, limit))


@router.get("/api/events/{event_id}", response_model=EventPublic, responses=error_responses(400, 404))
def get_event(event_id: EventPath, store: StoreDep) -> dict:
    """One event; its payload is exactly what every delivery of it carries."""
    return store.get_event(event_id)


@router.post("/api/events/{event_id}/redeliver", status_code=202, response_model=DeliveriesPublic,
             responses=error_responses(400, 404, 409))
def redeliver_event(event_id: EventPath, store: StoreDep, body: Redeliver | None = None) -> DeliveriesPublic:
    """Send an event again now (same id), to one endpoint or to every endpoint it went to."""
    return DeliveriesPublic(data=store.redeliver_event(event_id, (body or Redeliver()).endpoint_id))


def fire(store: Store, body: TriggerCreate) -> tuple[dict, list[str]]:
    """Make what the event needs, as `stripe trigger` does; every event on the way fires too."""
    if body.event == "pull_request":
        pr, event_id = store.open_pull_request("company/my-project", "Fix authentication bug", "developer123",
                                               "fix-auth-bug")
        return {**pr, "event_id": event_id}, [event_id]
    fields = {"amount": body.amount, "currency": body.currency, "metadata": body.metadata}
    if body.event == "payment_intent.succeeded":
        fields.update(payment_method="pm_card_visa", confirm=True)
    elif body.event == "payment_intent.payment_failed":
        fields.update(payment_method="pm_card_chargeDeclined", confirm=True)
    if body.event == "charge.refunded":
        fields.update(payment_method="pm_card_visa", confirm=True)
    _, intent, _ = store.create_intent(fields, None)
    if body.event == "payment_intent.canceled":
        intent = store.cancel_intent(intent["id"])
    elif body.event == "charge.refunded":
        store.refund(intent["id"], None, "requested_by_customer", None)
        intent = store.get_intent(intent["id"])
    events = [e["id"] for e in reversed(store.list_events(None, intent["id"], 100))]
    return intent, events


@router.post("/api/triggers", status_code=201, response_model=TriggerResult, responses=error_responses(400))
def trigger(body: TriggerCreate, store: StoreDep) -> JSONResponse:
    """Fire an event of any type now, with the objects it is about (e.g. payment_intent.succeeded)."""
    obj, events = fire(store, body)
    return JSONResponse(TriggerResult(event=body.event, events=events, object=obj).model_dump(), status_code=201)
