"""Products: the public catalogue with filters and sorting, and its CRUD for writers."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request, Response

from labservices.common import ApiError, error_responses
from labservices.common.http import LabRouter, if_match, json_with_etag, location_of, with_etag
from labservices.common.pagination import PageDep, page_headers

from ..auth import OptionalClient, Writer
from ..models import (MAX_ID, Category, ProductCreate, ProductPublic, ProductPublicV2, ProductReplace, ProductsPublic,
                      ProductsPublicV2, ProductUpdate)
from ..store import StoreDep
from ..versions import ApiVersion

router = LabRouter(tags=["Products"])

ProductId = Annotated[int, Path(ge=1, le=MAX_ID, description="Product id, e.g. 1")]
Product = ProductPublic | ProductPublicV2
Amount = Annotated[float | None, Query(ge=0, le=10_000_000, allow_inf_nan=False)]


def public(product: dict, version: int) -> Product:
    """The product in the representation of API ``version``."""
    if version == 2:
        return ProductPublicV2(**{**product, "price": {"amount": product["price"], "currency": "UAH"}})
    return ProductPublic(**product)


def _found(product: dict | None, product_id: int) -> dict:
    if product is None:
        raise ApiError(404, "NOT_FOUND", f"Товар {product_id} не знайдено")
    return product


@router.get("/products", response_model=ProductsPublic | ProductsPublicV2, responses=error_responses(400, 401, 429))
def list_products(
    request: Request, response: Response, store: StoreDep, page: PageDep,
    version: ApiVersion, _: OptionalClient,
    category: Annotated[Category | None, Query(description="e.g. electronics")] = None,
    price_min: Amount = None, price_max: Amount = None,
    in_stock: bool | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Text in the title")] = None,
    sort: Annotated[Literal["id", "price_asc", "price_desc", "title"], Query()] = "id",
) -> ProductsPublic | ProductsPublicV2:
    """List the catalogue (open to everyone), e.g. ?category=electronics&price_max=1000&sort=price_asc."""
    if price_min is not None and price_max is not None and price_min > price_max:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту",
                       [{"field": "price_min", "message": "price_min не може бути більшим за price_max",
                         "type": "conflicting_values"}])
    products, total = store.list_products(category=category, price_min=price_min, price_max=price_max,
                                          in_stock=in_stock, q=q, sort=sort, offset=page.offset, limit=page.size)
    page_headers(request, response, page, total)
    model = ProductsPublicV2 if version == 2 else ProductsPublic
    return model(data=[public(p, version) for p in products], pagination=page.meta(total))


@router.get("/products/{product_id}", response_model=Product, responses=error_responses(400, 404))
def get_product(product_id: ProductId, request: Request, store: StoreDep, version: ApiVersion,
                _: OptionalClient) -> Response:
    """Get one product with its ETag; If-None-Match with that ETag gives 304."""
    return with_etag(request, public(_found(store.get_product(product_id), product_id), version))


@router.post("/products", status_code=201, response_model=Product,
             responses=error_responses(400, 401, 403, 409, 415))
def create_product(body: ProductCreate, request: Request, store: StoreDep,
                   version: ApiVersion, _: Writer) -> Response:
    """Add a product: 201 with Location; 409 if the SKU is taken."""
    product = store.create_product(body.model_dump())
    location = location_of(request)(product["id"])
    return json_with_etag(public(product, version), 201, {"Location": location})


@router.put("/products/{product_id}", response_model=Product,
            responses=error_responses(400, 401, 403, 404, 409, 412, 415))
def replace_product(product_id: ProductId, body: ProductReplace, request: Request, store: StoreDep,
                    version: ApiVersion, _: Writer) -> Response:
    """Replace a product's title, category, price and stock (and SKU, if sent)."""
    fields = body.model_dump(exclude_none=True)
    product = store.write_product(product_id, fields, check=lambda current: if_match(request, public(current, version)))
    return json_with_etag(public(product, version))


@router.patch("/products/{product_id}", response_model=Product,
              responses=error_responses(400, 401, 403, 404, 409, 412, 415))
def update_product(product_id: ProductId, body: ProductUpdate, request: Request, store: StoreDep,
                   version: ApiVersion, _: Writer) -> Response:
    """Change only the fields sent, e.g. {"price": 11500}."""
    fields = body.model_dump(exclude_unset=True)
    product = store.write_product(product_id, fields, check=lambda current: if_match(request, public(current, version)))
    return json_with_etag(public(product, version))


@router.delete("/products/{product_id}", status_code=204, responses=error_responses(400, 401, 403, 404))
def delete_product(product_id: ProductId, store: StoreDep, _: Writer) -> Response:
    """Remove a product from the catalogue (orders keep their copy of it)."""
    if not store.delete_product(product_id):
        raise ApiError(404, "NOT_FOUND", f"Товар {product_id} не знайдено")
    return Response(status_code=204)
