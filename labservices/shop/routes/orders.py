"""Orders: list with the lecture's filters, create (with Idempotency-Key), change status, delete."""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse

from labservices.common import ApiError, error_responses
from labservices.common.http import LabRouter, location_of, with_etag
from labservices.common.idempotency import Idempotency, IdempotencyKey
from labservices.common.inputs import IsoDate
from labservices.common.pagination import PageDep, page_headers

from ..auth import Principal, Reader, Writer
from ..models import MAX_ID, OrderCreate, OrderPublic, OrdersPublic, OrderStatus, OrderUpdate
from ..settings import Settings, SettingsDep
from ..store import Created, Store, StoreDep

router = LabRouter(tags=["Orders"])

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Order id, e.g. 98765")]


def found(order: dict | None, order_id: int) -> dict:
    if order is None:
        raise ApiError(404, "NOT_FOUND", f"Замовлення {order_id} не знайдено")
    return order


def place_order(request: Request, store: Store, settings: Settings, principal: Principal, key: str | None,
                customer_id: int, body, customer_field: str | None) -> JSONResponse:
    """Create an order (or replay the first answer to this Idempotency-Key): 201 with Location."""
    idempotency = Idempotency.of(key, scope=principal.rate_key, ttl_s=settings.idempotency_ttl_s,
                                 request={"path": request.url.path, "body": body.model_dump(mode="json")})
    items = [(item.product_id, item.quantity) for item in body.items]
    result: Created = store.create_order(customer_id, items, customer_field=customer_field, idempotency=idempotency,
                                         location_of=location_of(request))
    headers = {"Location": result.location, **({"Idempotent-Replayed": "true"} if result.replayed else {})}
    return JSONResponse(result.body, status_code=result.status, headers=headers)


@router.get("/orders", response_model=OrdersPublic, responses=error_responses(400, 401, 403, 429))
def list_orders(
    request: Request, response: Response, store: StoreDep, page: PageDep, _: Reader,
    status: Annotated[OrderStatus | None, Query(description="e.g. pending")] = None,
    created_after: Annotated[IsoDate | None, Query(description="Orders created on or after this day, e.g. 2024-01-01")] = None,
    created_before: Annotated[IsoDate | None, Query(description="Orders created before this day")] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> OrdersPublic:
    """List orders, e.g. ?status=pending&created_after=2024-01-01&page=2&limit=20 (needs scope read)."""
    orders, total = store.list_orders(status=status, created_after=created_after, created_before=created_before,
                                      customer_id=customer_id, offset=page.offset, limit=page.size)
    page_headers(request, response, page, total)
    return OrdersPublic(data=orders, pagination=page.meta(total))


@router.get("/orders/{order_id}", response_model=OrderPublic, responses=error_responses(400, 401, 404, 429))
def get_order(order_id: OrderId, request: Request, store: StoreDep, _: Reader) -> Response:
    """Get one order with its items and total."""
    return with_etag(request, OrderPublic(**found(store.get_order(order_id), order_id)))


@router.post("/orders", status_code=201, response_model=OrderPublic,
             responses=error_responses(400, 401, 403, 409, 415, 422, 429))
def create_order(body: OrderCreate, request: Request, store: StoreDep, settings: SettingsDep, principal: Writer,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Place an order (the lecture's POST /api/orders); products by id or SKU; send Idempotency-Key to retry safely."""
    return place_order(request, store, settings, principal, idempotency_key, body.customer_id, body, "customer_id")


@router.patch("/orders/{order_id}", response_model=OrderPublic, responses=error_responses(400, 401, 403, 404, 409, 415))
def update_order(order_id: OrderId, body: OrderUpdate, store: StoreDep, _: Writer) -> OrderPublic:
    """Move an order on: pending → paid → shipped, or cancel it before it ships (409 otherwise)."""
    return OrderPublic(**store.set_order_status(order_id, body.status))


@router.delete("/orders/{order_id}", status_code=204, responses=error_responses(400, 401, 403, 404))
def delete_order(order_id: OrderId, store: StoreDep, _: Writer) -> Response:
    """Delete an order (the lecture's DELETE /api/orders/98765); deleting it again answers 404."""
    if not store.delete_order(order_id):
        raise ApiError(404, "NOT_FOUND", f"Замовлення {order_id} не знайдено")
    return Response(status_code=204)

