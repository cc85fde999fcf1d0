"""Deals (Salesforce's opportunities): created, or upserted by an external id such as the shop's order id."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from labservices.common import error_responses
from labservices.common.http import LabRouter, location_of
from labservices.common.pagination import PageDep, page_headers

from ..models import DealCreate, DealId, DealPublic, DealsPublic, DealUpdate, DealUpsert, ExternalId, Stage
from ..settings import require
from ..store import StoreDep

router = LabRouter(prefix="/api/deals", tags=["Deals"])
READ = [Depends(require("read"))]
WRITE = [Depends(require("write"))]


@router.get("", response_model=DealsPublic, dependencies=READ, responses=error_responses(400, 401, 403))
def list_deals(request: Request, response: Response, store: StoreDep, page: PageDep,
               contact_id: Annotated[str | None, Query(max_length=18)] = None, stage: Stage | None = None,
               external_id: Annotated[str | None, Query(max_length=64)] = None) -> DealsPublic:
    """Deals, oldest first; filter by contact, stage or external id."""
    rows, total = store.deals(contact_id, stage, external_id, page.offset, page.size)
    page_headers(request, response, page, total)
    return DealsPublic(data=rows, pagination=page.meta(total))


@router.post("", status_code=201, response_model=DealPublic, dependencies=WRITE,
             responses=error_responses(400, 401, 403, 409, 415))
def create_deal(body: DealCreate, request: Request, store: StoreDep) -> JSONResponse:
    """Create a deal (201 + Location); 409 when its external_id is taken."""
    deal = store.create_deal(body.model_dump())
    return JSONResponse(deal, status_code=201, headers={"Location": location_of(request)(deal["id"])})


@router.put("/by-external-id/{external_id}", response_model=DealPublic, dependencies=WRITE,
            responses={201: {"model": DealPublic, "description": "Created"}, **error_responses(400, 401, 403, 415)})
def upsert_deal(external_id: Annotated[ExternalId, Path()], body: DealUpsert, store: StoreDep) -> JSONResponse:
    """Create the deal with this external id (201) or update it (200): a retried call makes no second deal."""
    deal, created = store.upsert_deal(external_id, body.model_dump())
    return JSONResponse(deal, status_code=201 if created else 200)


@router.get("/{deal_id}", response_model=DealPublic, dependencies=READ, responses=error_responses(400, 401, 403, 404))
def get_deal(deal_id: Annotated[DealId, Path()], store: StoreDep) -> dict:
    """One deal."""
    return store.deal(deal_id)


@router.patch("/{deal_id}", response_model=DealPublic, dependencies=WRITE,
              responses=error_responses(400, 401, 403, 404, 415))
def update_deal(deal_id: Annotated[DealId, Path()], body: DealUpdate, store: StoreDep) -> dict:
    """Move a deal along (stage) or change its name or amount."""
    return store.update_deal(deal_id, body.model_dump(exclude_unset=True))
