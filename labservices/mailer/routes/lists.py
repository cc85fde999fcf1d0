"""Audiences (``/3.0/lists``), their members, tags, segments and webhooks."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Response

from labservices.common import error_responses
from labservices.common.http import LabRouter

from ..auth import api_key
from ..models import (ListCreate, ListId, MemberCreate, MemberStatus, MemberUpsert, SegmentCreate, SubscriberHash,
                      TagsUpdate, WebhookCreate)
from ..store import StoreDep

router = LabRouter(prefix="/3.0/lists", tags=["Audiences"], dependencies=[Depends(api_key)])
ListPath = Annotated[ListId, Path()]
HashPath = Annotated[SubscriberHash, Path()]
E = error_responses(400, 401, 404)


@router.get("", responses=error_responses(401))
def list_lists(store: StoreDep) -> dict:
    """Every audience with its member counts."""
    lists = store.lists()
    return {"lists": lists, "total_items": len(lists)}


@router.post("", responses=error_responses(400, 401, 415))
def create_list(body: ListCreate, store: StoreDep) -> dict:
    """Create an audience (200, as Mailchimp answers)."""
    return store.create_list(body.model_dump())


@router.get("/{list_id}", responses=E)
def get_list(list_id: ListPath, store: StoreDep) -> dict:
    """One audience."""
    return store.get_list(list_id)


@router.get("/{list_id}/members", responses=E)
def list_members(list_id: ListPath, store: StoreDep, status: MemberStatus | None = None,
                 count: Annotated[int, Query(ge=1, le=1000)] = 10, offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> dict:
    """Members of the audience (Mailchimp's paging: count and offset)."""
    members, total = store.members(list_id, status, count, offset)
    return {"members": members, "list_id": list_id, "total_items": total}


@router.post("/{list_id}/members", responses=error_responses(400, 401, 404, 409, 415))
def add_member(list_id: ListPath, body: MemberCreate, store: StoreDep) -> dict:
    """Add a member; 409 MEMBER_EXISTS when the email is there (PUT adds or updates)."""
    return store.add_member(list_id, body.model_dump())[0]


@router.put("/{list_id}/members/{subscriber_hash}", responses=error_responses(400, 401, 404, 415))
def upsert_member(list_id: ListPath, subscriber_hash: HashPath, body: MemberUpsert, store: StoreDep) -> dict:
    """Add or update a member addressed by the MD5 of the lower-cased email: safe to repeat."""
    return store.upsert_member(list_id, subscriber_hash, body.model_dump())[0]


@router.get("/{list_id}/members/{subscriber_hash}", responses=E)
def get_member(list_id: ListPath, subscriber_hash: HashPath, store: StoreDep) -> dict:
    """One member, with their tags and how often they opened and clicked."""
    return store.member(list_id, subscriber_hash.lower())


@router.delete("/{list_id}/members/{subscriber_hash}", status_code=204, responses=E)
def archive_member(list_id: ListPath, subscriber_hash: HashPath, store: StoreDep) -> Response:
    """Remove a member from the audience."""
    store.archive_member(list_id, subscriber_hash)
    return Response(status_code=204)


@router.post("/{list_id}/members/{subscriber_hash}/tags", status_code=204, responses=error_responses(400, 401, 404, 415))
def update_tags(list_id: ListPath, subscriber_hash: HashPath, body: TagsUpdate, store: StoreDep) -> Response:
    """Add (``active``) or remove (``inactive``) tags of a member."""
    store.change_tags(list_id, subscriber_hash, [t.model_dump() for t in body.tags])
    return Response(status_code=204)


@router.get("/{list_id}/segments", responses=E)
def list_segments(list_id: ListPath, store: StoreDep) -> dict:
    """Segments of the audience with how many members each holds now."""
    segments = store.segments(list_id)
    return {"segments": segments, "total_items": len(segments)}


@router.post("/{list_id}/segments", responses=error_responses(400, 401, 404, 415))
def create_segment(list_id: ListPath, body: SegmentCreate, store: StoreDep) -> dict:
    """A saved segment (conditions on tags and merge fields) or a static one (a list of emails)."""
    return store.create_segment(list_id, body.model_dump(exclude_none=True))


@router.get("/{list_id}/segments/{segment_id}/members", responses=E)
def segment_members(list_id: ListPath, segment_id: Annotated[int, Path(ge=1, le=2**31)], store: StoreDep) -> dict:
    """The members a segment matches now."""
    members = store.segment_members(list_id, segment_id)
    return {"members": members, "total_items": len(members)}


@router.get("/{list_id}/webhooks", responses=E)
def list_webhooks(list_id: ListPath, store: StoreDep) -> dict:
    """Where this audience's events are delivered."""
    hooks = store.webhooks(list_id)
    return {"webhooks": hooks, "total_items": len(hooks)}


@router.post("/{list_id}/webhooks", responses=error_responses(400, 401, 404, 415))
def create_webhook(list_id: ListPath, body: WebhookCreate, store: StoreDep) -> dict:
    """Deliver open, click, subscribe or unsubscribe events to a URL, signed with the returned secret."""
    return store.create_webhook(list_id, body.model_dump())


@router.delete("/{list_id}/webhooks/{webhook_id}", status_code=204, responses=E)
def delete_webhook(list_id: ListPath, webhook_id: Annotated[str, Path(pattern=r"^[0-9a-f]{10}$")],
                   store: StoreDep) -> Response:
    """Stop delivering to this webhook."""
    store.delete_webhook(list_id, webhook_id)
    return Response(status_code=204)


@router.get("/{list_id}/webhooks/{webhook_id}/deliveries", responses=E)
def list_deliveries(list_id: ListPath, webhook_id: Annotated[str, Path(pattern=r"^[0-9a-f]{10}$")], store: StoreDep,
                    status: Literal["pending", "succeeded", "failed"] | None = None) -> dict:
    """The webhook's deliveries, newest first: status, attempts, what the receiver answered."""
    rows = [d for d in store.deliveries(list_id, webhook_id) if status is None or d["status"] == status]
    return {"deliveries": rows, "total_items": len(rows)}
