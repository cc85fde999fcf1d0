"""Users: the lecture's GET, POST, PUT, PATCH and DELETE on /api/users, plus /api/users/me."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request, Response

from labservices.common import ApiError, error_responses
from labservices.common.auth import hash_password
from labservices.common.http import LabRouter, if_match, json_with_etag, location_of, with_etag
from labservices.common.pagination import PageDep, page_headers

from ..auth import Admin, CurrentClient, Reader, Writer
from ..models import (MAX_ID, Me, UserCreate, UserPublic, UserPublicV2, UserReplace, UsersPublic, UsersPublicV2,
                      UserUpdate)
from ..store import StoreDep
from ..versions import ApiVersion

router = LabRouter(tags=["Users"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="User id, e.g. 12345")]
User = UserPublic | UserPublicV2


def public(user: dict, version: int) -> User:
    """The user in the representation of API ``version``."""
    if version == 2:
        return UserPublicV2(**user)
    profile = {k: user[k] for k in ("first_name", "last_name", "date_of_birth", "city")}
    return UserPublic(**user, profile=profile)


def _names(name: str) -> dict[str, str]:
    """"Іван Петренко" → first "Іван", last "Петренко" (everything after the first word)."""
    first, _, last = name.partition(" ")
    return {"first_name": first, "last_name": last.strip()}


def _roles(role: str) -> list[str]:
    return ["user"] if role == "user" else ["user", role]


def _stored(fields: dict) -> dict:
    """Body fields as the store keeps them: ``name`` split, ``role`` as ``roles``."""
    fields = dict(fields)
    if "name" in fields:
        fields.update(_names(fields.pop("name")))
    if "role" in fields:
        fields["roles"] = _roles(fields.pop("role"))
    return fields


def _found(user: dict | None, user_id: int) -> dict:
    if user is None:
        raise ApiError(404, "NOT_FOUND", f"Користувача {user_id} не знайдено")
    return user


@router.get("/users", response_model=UsersPublic | UsersPublicV2, responses=error_responses(400, 401, 429))
def list_users(request: Request, response: Response, store: StoreDep, page: PageDep,
               version: ApiVersion, _: Reader,
               role: Annotated[Literal["user", "moderator", "manager", "admin"] | None, Query()] = None,
               active: bool | None = None) -> UsersPublic | UsersPublicV2:
    """List users, a page at a time (needs scope read)."""
    users, total = store.list_users(role, active, page.offset, page.size)
    page_headers(request, response, page, total)
    model = UsersPublicV2 if version == 2 else UsersPublic
    return model(data=[public(u, version) for u in users], pagination=page.meta(total))


@router.get("/users/me", response_model=Me, responses=error_responses(401, 429))
def who_am_i(principal: CurrentClient, version: ApiVersion) -> Me:
    """Show whom this request's credentials belong to: roles, scopes and, for Bearer, the token's claims."""
    user = public(principal.user, version) if principal.user else None
    return Me(subject=principal.subject, auth_method=principal.auth_method, roles=principal.roles,
              scopes=principal.scopes, user=user, token_claims=principal.claims)


@router.get("/users/{user_id}", response_model=User, responses=error_responses(400, 401, 404, 429))
def get_user(user_id: UserId, request: Request, store: StoreDep, version: ApiVersion, _: Reader) -> Response:
    """Get one user (the lecture's GET /api/users/12345), with an ETag; If-None-Match gives 304."""
    return with_etag(request, public(_found(store.get_user(user_id), user_id), version))


@router.post("/users", status_code=201, response_model=User, responses=error_responses(400, 401, 403, 409, 415))
def create_user(body: UserCreate, request: Request, store: StoreDep, version: ApiVersion,
                _: Writer) -> Response:
    """Create a user: 201 with Location; 409 if the username or email is taken."""
    fields = _stored(body.model_dump(exclude={"password"}))
    fields["password_hash"] = hash_password(body.password) if body.password else None
    user = store.create_user(fields)
    location = location_of(request)(user["id"])
    return json_with_etag(public(user, version), 201, {"Location": location})


@router.put("/users/{user_id}", response_model=User, responses=error_responses(400, 401, 403, 404, 409, 412, 415))
def replace_user(user_id: UserId, body: UserReplace, request: Request, store: StoreDep, version: ApiVersion,
                 _: Writer) -> Response:
    """Replace a user's writable fields (the lecture's {"name", "email", "role"}); sending it twice changes nothing more."""
    fields = _stored(body.model_dump(exclude_none=False))
    if body.username is None:
        del fields["username"]  # an identifier: kept when the body leaves it out
    user = store.write_user(user_id, fields, check=lambda current: if_match(request, public(current, version)))
    return json_with_etag(public(user, version))


@router.patch("/users/{user_id}", response_model=User, responses=error_responses(400, 401, 403, 404, 409, 412, 415))
def update_user(user_id: UserId, body: UserUpdate, request: Request, store: StoreDep, version: ApiVersion,
                _: Writer) -> Response:
    """Change only the fields sent (the lecture's {"email": "new-email@example.com"})."""
    fields = _stored(body.model_dump(exclude_unset=True))
    user = store.write_user(user_id, fields, check=lambda current: if_match(request, public(current, version)))
    return json_with_etag(public(user, version))


@router.delete("/users/{user_id}", status_code=204, responses=error_responses(400, 401, 403, 404))
def delete_user(user_id: UserId, store: StoreDep, _: Admin) -> Response:
    """Delete a user (needs role admin); deleting it again answers 404."""
    if not store.delete_user(user_id):
        raise ApiError(404, "NOT_FOUND", f"Користувача {user_id} не знайдено")
    return Response(status_code=204)
