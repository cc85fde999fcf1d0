"""Pagination as the lecture shows it: ``{"data": [...], "pagination": {...}}`` plus an RFC 8288 ``Link`` header.

``page`` counts from 1; ``limit`` (or its alias ``per_page``) is at most 100, and a larger
one is a 400, never silently clamped. A page after the last one is empty but still says
where the list ends.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field

from .errors import ApiError
from .http import base_url

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


class Pagination(BaseModel):
    """Where this page sits in the whole list (the lecture's ``pagination`` object)."""

    page: int = Field(examples=[1])
    per_page: int = Field(examples=[20])
    total: int = Field(examples=[156])
    total_pages: int = Field(examples=[8])


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def meta(self, total: int) -> Pagination:
        return Pagination(page=self.number, per_page=self.size, total=total,
                          total_pages=math.ceil(total / self.size))


async def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")] = 1,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PER_PAGE, description="Items per page, 1..100 (default 20)")] = None,
    per_page: Annotated[int | None, Query(ge=1, le=MAX_PER_PAGE, description="The same as limit")] = None,
) -> Page:
    """Which page the client asked for."""
    if limit is not None and per_page is not None and limit != per_page:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту",
                       [{"field": "per_page", "message": "limit і per_page — одне й те саме; вкажіть один"}])
    return Page(page, limit or per_page or DEFAULT_PER_PAGE)


PageDep = Annotated[Page, Depends(page_params)]


def page_headers(request: Request, response: Response, page: Page, total: int) -> None:
    """Set ``Link`` (first, prev, next, last) and ``X-Total-Count`` on a list response."""
    last = max(1, math.ceil(total / page.size))
    targets = {"first": 1, "last": last}
    if page.number > 1:
        targets["prev"] = min(page.number - 1, last)
    if page.number < last:
        targets["next"] = page.number + 1
    base = base_url(request) + request.url.path
    links = []
    for rel in ("first", "prev", "next", "last"):
        if rel in targets:
            query = request.url.include_query_params(page=targets[rel]).query
            links.append(f'<{base}?{query}>; rel="{rel}"')
    response.headers["Link"] = ", ".join(links)
    response.headers["X-Total-Count"] = str(total)
