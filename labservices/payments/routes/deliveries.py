"""The delivery log: every event on its way to every endpoint, its attempts, and manual redelivery."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labservices.common import error_responses

from ..deps import DeliveryPath
from ..models import DeliveriesPublic, DeliveryPublic, DeliveryStatus
from ..store import StoreDep

router = APIRouter(prefix="/api/deliveries", tags=["Deliveries"])

IdFilter = Annotated[str | None, Query(max_length=64)]


@router.get("", response_model=DeliveriesPublic, responses=error_responses(400))
def list_deliveries(store: StoreDep, event_id: IdFilter = None, endpoint_id: IdFilter = None,
                    status: DeliveryStatus | None = None,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> DeliveriesPublic:
    """List deliveries, newest first: status, attempts (code, time, answer) and the next attempt's time."""
    return DeliveriesPublic(data=store.list_deliveries(event_id, endpoint_id, status, limit))


@router.get("/{delivery_id}", response_model=DeliveryPublic, responses=error_responses(400, 404))
def get_delivery(delivery_id: DeliveryPath, store: StoreDep) -> dict:
    """One delivery with every attempt."""
    return store.get_delivery(delivery_id)


@router.post("/{delivery_id}/redeliver", status_code=202, response_model=DeliveryPublic,
             responses=error_responses(400, 404))
def redeliver(delivery_id: DeliveryPath, store: StoreDep) -> dict:
    """Send it again now: a failed or succeeded delivery gets one manual attempt."""
    return store.redeliver(delivery_id)
