"""Customers and their orders: the lecture's nested URLs /api/customers/123/orders/456."""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse

from labservices.common import ApiError, error_responses
from labservices.common.http import LabRouter, with_etag
from labservices.common.idempotency import IdempotencyKey
from labservices.common.pagination import PageDep, page_headers

from ..auth import Reader, Writer
from ..models import (MAX_ID, CustomerOrderCreate, CustomerPublic, CustomersPublic, OrderPublic, OrdersPublic,
                      OrderStatus)
from ..settings import SettingsDep
from ..store import StoreDep
from .orders import OrderId, found, place_order

router = LabRouter(tags=["Customers"])

CustomerId = Annotated[int, Path(ge=1, le=MAX_ID, description="Customer id, e.g. 123")]


def _customer(store, customer_id: int) -> dict:
    customer = store.get_customer(customer_id)
    if customer is None:
        raise ApiError(404, "NOT_FOUND", f"Клієнта {customer_id} не знайдено")
    return customer


@router.get("/customers", response_model=CustomersPublic, responses=error_responses(400, 401, 429))
def list_customers(request: Request, response: Response, store: StoreDep, page: PageDep,
                   _: Reader, city: Annotated[str | None, Query(min_length=1, max_length=60)] = None) -> CustomersPublic:
    """List customers (needs scope read)."""
    customers, total = store.list_customers(city, page.offset, page.size)
    page_headers(request, response, page, total)
    return CustomersPublic(data=customers, pagination=page.meta(total))


@router.get("/customers/{customer_id}", response_model=CustomerPublic, responses=error_responses(400, 401, 404))
def get_customer(customer_id: CustomerId, request: Request, store: StoreDep, _: Reader) -> Response:
    """Get one customer."""
    return with_etag(request, CustomerPublic(**_customer(store, customer_id)))


@router.get("/customers/{customer_id}/orders", response_model=OrdersPublic, responses=error_responses(400, 401, 404))
def list_customer_orders(customer_id: CustomerId, request: Request, response: Response, store: StoreDep,
                         page: PageDep, _: Reader,
                         status: OrderStatus | None = None) -> OrdersPublic:
    """List one customer's orders."""
    _customer(store, customer_id)
    orders, total = store.list_orders(status=status, created_after=None, created_before=None,
                                      customer_id=customer_id, offset=page.offset, limit=page.size)
    page_headers(request, response, page, total)
    return OrdersPublic(data=orders, pagination=page.meta(total))


@router.get("/customers/{customer_id}/orders/{order_id}", response_model=OrderPublic,
            responses=error_responses(400, 401, 404))
def get_customer_order(customer_id: CustomerId, order_id: OrderId, request: Request, store: StoreDep,
                       _: Reader) -> Response:
    """Get one of the customer's orders; 404 if the order belongs to someone else."""
    _customer(store, customer_id)
    return with_etag(request, OrderPublic(**found(store.get_order(order_id, customer_id), order_id)))


@router.post("/customers/{customer_id}/orders", status_code=201, response_model=OrderPublic,
             responses=error_responses(400, 401, 403, 404, 409, 415, 422))
def create_customer_order(customer_id: CustomerId, body: CustomerOrderCreate, request: Request, store: StoreDep,
                          settings: SettingsDep, principal: Writer, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Place an order for this customer: 201 with Location /api/customers/{id}/orders/{order_id}."""
    return place_order(request, store, settings, principal, idempotency_key, customer_id, body, None)
