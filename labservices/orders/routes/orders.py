"""Orders over HTTP: place, list, read at any version, read the event stream, cancel."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from labservices.common import error_responses
from labservices.common.deps import from_state
from labservices.common.http import LabRouter, location_of
from labservices.common.idempotency import IdempotencyKey
from labservices.common.pagination import PageDep, page_headers

from ..models import OrderCancel, OrderCreate, OrderEvent, OrderPublic, OrdersPublic, Status
from ..service import OrdersService
from ..sync import place_sync

router = LabRouter(prefix="/api/orders", tags=["Orders"])
ServiceDep = Annotated[OrdersService, Depends(from_state("orders"))]
OrderId = Annotated[uuid.UUID, Path(description="The order's id, e.g. 3f0e…")]


@router.post("", status_code=201, response_model=OrderPublic, responses=error_responses(400, 415, 422))
def place_order(body: OrderCreate, request: Request, orders: ServiceDep,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Place an order: 201 at once; OrderCreated reaches the bus through the outbox, the rest follows by events."""
    order, replayed = orders.place(body.customer.model_dump(), [i.model_dump() for i in body.items],
                                   body.payment_method, body.shipping.model_dump(), idempotency_key)
    headers = {"Location": location_of(request)(order["order_id"])}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(order, status_code=200 if replayed else 201, headers=headers)


@router.post("/sync", status_code=201, response_model=OrderPublic,
             responses={**error_responses(400, 409, 415, 422, 502),
                        202: {"description": "Fallback: the catalog is unreachable (X-Fallback says why); the order "
                                             "is taken the asynchronous way and its stock reserved later",
                              "model": OrderPublic}})
async def place_order_sync(body: OrderCreate, request: Request, orders: ServiceDep,
                           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """The lecture's synchronous create_order: GET the product, check its stock, POST reserve, then create.

    201 when the catalog reserved every line; 409 ``INSUFFICIENT_STOCK`` (nothing held); 202 when
    the catalog could not be reached and the order falls back to the asynchronous path.
    ``Server-Timing`` says how long the calls to the catalog took.
    """
    status, order, headers = await place_sync(orders, request.app.state.catalog, body.model_dump(), idempotency_key)
    headers["Location"] = str(request.url_for("get_order", order_id=order["order_id"]))
    return JSONResponse(order, status_code=status, headers=headers)


@router.get("", response_model=OrdersPublic, responses=error_responses(400))
def list_orders(request: Request, response: Response, orders: ServiceDep, page: PageDep,
                status: Status | None = None) -> OrdersPublic:
    """Orders, newest first (a read model the log tailer keeps; it may lag its events by a moment)."""
    data, total = orders.store.orders(status, page.size, page.offset)
    page_headers(request, response, page, total)
    return OrdersPublic(data=data, pagination=page.meta(total))


@router.get("/{order_id}", response_model=OrderPublic, responses=error_responses(400, 404))
def get_order(order_id: OrderId, orders: ServiceDep,
              version: Annotated[int | None, Query(ge=1, le=10_000, description="State after this many events")] = None,
              ) -> dict:
    """One order: the fold of its events (?version=N: as it was after its first N events)."""
    return orders.get(order_id, version).public()


@router.get("/{order_id}/events", response_model=list[OrderEvent], responses=error_responses(400, 404))
def get_order_events(order_id: OrderId, orders: ServiceDep) -> list[dict]:
    """The order's event stream, oldest first: everything its state is made of."""
    orders.get(order_id)
    return orders.events.stream(order_id)


@router.post("/{order_id}/cancel", response_model=OrderPublic, responses=error_responses(400, 404, 409))
def cancel_order(order_id: OrderId, orders: ServiceDep, body: OrderCancel | None = None) -> dict:
    """Cancel an order that has not shipped (OrderCancelled: inventory releases the stock, billing refunds)."""
    return orders.cancel(order_id, (body or OrderCancel()).reason)
