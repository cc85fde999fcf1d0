"""Contacts: found by email, created, upserted by email (as Salesforce upserts by an external id), and their activities."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from labservices.common import error_responses
from labservices.common.http import LabRouter, location_of
from labservices.common.pagination import PageDep, page_headers

from ..models import (ActivityCreate, ActivityPublic, ContactCreate, ContactId, ContactPublic, ContactsPublic,
                      ContactUpdate, ContactUpsert, Email)
from ..settings import require
from ..store import StoreDep

router = LabRouter(prefix="/api/contacts", tags=["Contacts"])
READ = [Depends(require("read"))]
WRITE = [Depends(require("write"))]
AUTH_ERRORS = (401, 403)


@router.get("", response_model=ContactsPublic, dependencies=READ, responses=error_responses(400, *AUTH_ERRORS))
def list_contacts(request: Request, response: Response, store: StoreDep, page: PageDep,
                  email: Annotated[str | None, Query(max_length=254, description="Exact email (any case)")] = None,
                  q: Annotated[str | None, Query(min_length=1, max_length=100, description="Text in name or email")] = None,
                  tag: Annotated[str | None, Query(min_length=1, max_length=40)] = None) -> ContactsPublic:
    """Contacts, oldest first; ?email= finds one by its email (the first step of an upsert)."""
    rows, total = store.contacts(email, q, tag, page.offset, page.size)
    page_headers(request, response, page, total)
    return ContactsPublic(data=rows, pagination=page.meta(total))


@router.post("", status_code=201, response_model=ContactPublic, dependencies=WRITE,
             responses=error_responses(400, *AUTH_ERRORS, 409, 415))
def create_contact(body: ContactCreate, request: Request, store: StoreDep) -> JSONResponse:
    """Create a contact (201 + Location); 409 DUPLICATE_EMAIL when one has this email."""
    contact = store.create_contact(body.model_dump())
    return JSONResponse(contact, status_code=201, headers={"Location": location_of(request)(contact["id"])})


@router.put("/by-email/{email}", response_model=ContactPublic, dependencies=WRITE,
            responses={201: {"model": ContactPublic, "description": "Created"}, **error_responses(400, *AUTH_ERRORS, 415)})
def upsert_contact(email: Annotated[Email, Path()], body: ContactUpsert, store: StoreDep) -> JSONResponse:
    """Create the contact with this email (201) or update it (200): safe to repeat."""
    contact, created = store.upsert_contact(email, body.model_dump(exclude_unset=True))
    return JSONResponse(contact, status_code=201 if created else 200)


@router.get("/{contact_id}", response_model=ContactPublic, dependencies=READ,
            responses=error_responses(400, *AUTH_ERRORS, 404))
def get_contact(contact_id: Annotated[ContactId, Path()], store: StoreDep) -> dict:
    """One contact."""
    return store.contact(contact_id)


@router.patch("/{contact_id}", response_model=ContactPublic, dependencies=WRITE,
              responses=error_responses(400, *AUTH_ERRORS, 404, 415))
def update_contact(contact_id: Annotated[ContactId, Path()], body: ContactUpdate, store: StoreDep) -> dict:
    """Change the fields sent, keep the others."""
    return store.update_contact(contact_id, body.model_dump(exclude_unset=True))


@router.get("/{contact_id}/activities", response_model=list[ActivityPublic], dependencies=READ,
            responses=error_responses(400, *AUTH_ERRORS, 404))
def list_activities(contact_id: Annotated[ContactId, Path()], store: StoreDep) -> list[dict]:
    """What happened with this contact: emails opened and clicked, orders, notes."""
    return store.activities(contact_id)


@router.post("/{contact_id}/activities", status_code=201, response_model=ActivityPublic, dependencies=WRITE,
             responses={200: {"model": ActivityPublic, "description": "Already recorded (same external_id)"},
                        **error_responses(400, *AUTH_ERRORS, 404, 415)})
def add_activity(contact_id: Annotated[ContactId, Path()], body: ActivityCreate, store: StoreDep) -> JSONResponse:
    """Record an activity (201); the same external_id again answers the first one (200)."""
    activity, created = store.add_activity(contact_id, body.model_dump())
    return JSONResponse(activity, status_code=201 if created else 200)
