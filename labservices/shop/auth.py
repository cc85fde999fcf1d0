"""Who is calling, and may they: API keys, Basic, Bearer JWTs, roles, scopes and rate limits.

A request may carry ``Authorization: Bearer <jwt>``, ``Authorization: Basic <base64>``,
``X-API-Key: <key>`` or ``?apikey=<key>`` (tried in that order). Missing or wrong
credentials answer 401 with ``WWW-Authenticate``; valid credentials without the
needed scope answer 403. Each role grants scopes (``ROLE_SCOPES``); endpoints ask
for ``read``, ``write`` or ``admin``.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPBasic, HTTPBearer, OAuth2
from starlette.concurrency import run_in_threadpool

from labservices.common import ApiError
from labservices.common.auth import InvalidToken, verify_password
from labservices.common.ratelimit import count

from .settings import ApiKey, Settings, SettingsDep
from .store import StoreDep

Scope = Literal["read", "write", "admin"]

ROLE_SCOPES: dict[str, list[str]] = {
    "reader": ["read"],
    "user": ["read"],
    "moderator": ["read", "write"],
    "manager": ["read", "write"],
    "admin": ["read", "write", "admin"],
}

SCOPE_DESCRIPTIONS = {
    "read": "Read users, customers, orders and weather",
    "write": "Create and change users, products and orders",
    "admin": "Delete users",
}

REALM = 'realm="shop"'


@dataclass(frozen=True)
class Principal:
    """The caller behind a request's credentials."""

    subject: str
    auth_method: Literal["api_key", "basic", "bearer"]
    roles: list[str]
    scopes: list[str]
    rate_key: str
    rate_limit: int | None = None
    rate_window_s: int | None = None
    user: dict[str, Any] | None = None
    claims: dict[str, Any] | None = field(default=None)


def scopes_of(roles: list[str]) -> list[str]:
    granted = {s for role in roles for s in ROLE_SCOPES.get(role, [])}
    return [s for s in ("read", "write", "admin") if s in granted]


# Security schemes for /docs (Swagger's Authorize button fills them in); labservices.common.openapi
# attaches them to every operation that needs a caller. ``identify`` reads the headers itself, so
# every failure has the envelope.
SCHEMES = [
    APIKeyHeader(name="X-API-Key", scheme_name="ApiKeyHeader", description="e.g. abc123def456"),
    APIKeyQuery(name="apikey", scheme_name="ApiKeyQuery", description="e.g. ?apikey=abc123def456"),
    HTTPBasic(scheme_name="Basic", description="e.g. ivan_petrenko / ivan-password"),
    HTTPBearer(scheme_name="Bearer", bearerFormat="JWT", description="A token from POST /oauth/token"),
    OAuth2(scheme_name="OAuth2", description="e.g. client_id my_app, client_secret secret123",
           flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token",
                                                                         scopes=SCOPE_DESCRIPTIONS))),
]


def _unauthorized(code: str, message: str, challenge: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def _api_key(settings: Settings, presented: str) -> ApiKey | None:
    found = None
    for candidate in settings.api_keys:  # compare with every key, in constant time each
        if hmac.compare_digest(candidate.key.encode(), presented.encode()):
            found = candidate
    return found


def _from_bearer(settings: Settings, token: str) -> Principal:
    try:
        claims = settings.token_issuer().verify(token)
    except InvalidToken as exc:
        raise _unauthorized("INVALID_TOKEN", "Токен доступу недійсний або прострочений; отримайте новий на /oauth/token",
                            f'Bearer {REALM}, error="invalid_token", error_description="{exc}"') from exc
    # A signed token is trusted for who signed it, not for the types of its claims: the sandbox's
    # secret is public, so "roles": 5 or {"admin": 1} must be refused, not iterated.
    listed = claims.get("roles")
    roles = [r for r in listed if isinstance(r, str) and r in ROLE_SCOPES] if isinstance(listed, list) else []
    scope = claims.get("scope")
    scopes = [s for s in (scope.split() if isinstance(scope, str) else []) if s in scopes_of(roles)]
    return Principal(str(claims["sub"]), "bearer", roles, scopes, f"client:{claims['sub']}", claims=claims)


def _from_basic(store, encoded: str) -> Principal:
    challenge = f'Basic {REALM}, charset="UTF-8"'
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _unauthorized("INVALID_CREDENTIALS", "Заголовок Basic має містити base64 від «логін:пароль»", challenge)
    user = store.user_by_username(username) if 0 < len(username) <= 64 else None
    if user is None or not user["active"] or not verify_password(password, user["password_hash"]):
        raise _unauthorized("INVALID_CREDENTIALS", "Невірний логін або пароль (або користувач неактивний)", challenge)
    return Principal(username, "basic", user["roles"], scopes_of(user["roles"]), f"user:{username}", user=user)


def identify(request: Request, settings: Settings, store) -> Principal | None:
    """The caller named by the request's credentials, None if it sent none, 401 if they are wrong."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return _from_bearer(settings, value.strip())
        if scheme.lower() == "basic" and value.strip():
            return _from_basic(store, value.strip())
        raise _unauthorized("UNAUTHORIZED", "Підтримуються лише схеми Authorization: Bearer і Basic",
                            f"Bearer {REALM}")
    presented = request.headers.get("x-api-key") or request.query_params.get("apikey")
    if presented is None:
        return None
    key = _api_key(settings, presented)
    if key is None:
        raise _unauthorized("INVALID_API_KEY", "Невідомий API-ключ", f'ApiKey {REALM}, header="X-API-Key"')
    return Principal(key.name, "api_key", [key.role], scopes_of([key.role]), f"key:{key.name}",
                     rate_limit=key.rate_limit, rate_window_s=key.rate_window_s)


async def optional_client(request: Request, settings: SettingsDep, store: StoreDep) -> Principal | None:
    """The caller if it sent credentials (then they must be valid), else None."""
    if request.headers.get("authorization", "").strip().lower().startswith("basic"):
        # A password hash (PBKDF2) takes milliseconds of CPU: a worker thread, not the shared loop.
        principal = await run_in_threadpool(identify, request, settings, store)
    else:
        principal = identify(request, settings, store)
    if principal is not None:
        count(request, request.app.state.limiter, principal.rate_key, principal.rate_limit, principal.rate_window_s)
    return principal


async def current_client(principal: Annotated[Principal | None, Depends(optional_client)]) -> Principal:
    """The authenticated caller; 401 when the request has no credentials."""
    if principal is None:
        raise _unauthorized("UNAUTHORIZED", "Потрібна автентифікація: X-API-Key, ?apikey=, Basic або Bearer-токен",
                            f"Bearer {REALM}")
    return principal


def require(scope: Scope):
    """A dependency that lets through only callers whose roles grant ``scope`` (else 403)."""

    async def check(principal: Annotated[Principal, Depends(current_client)]) -> Principal:
        if scope not in principal.scopes:
            headers = {}
            if principal.auth_method == "bearer":
                headers["WWW-Authenticate"] = f'Bearer {REALM}, error="insufficient_scope", scope="{scope}"'
            needed = [role for role, scopes in ROLE_SCOPES.items() if scope in scopes]
            raise ApiError(403, "FORBIDDEN", f"Для цієї дії потрібен scope {scope!r} (ролі: {', '.join(needed)})",
                           [{"field": "roles", "message": f"Ваші ролі: {', '.join(principal.roles) or 'немає'}"}],
                           headers=headers)
        return principal

    check.__name__ = f"require_{scope}"
    return check


OptionalClient = Annotated[Principal | None, Depends(optional_client)]
CurrentClient = Annotated[Principal, Depends(current_client)]
Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]
Admin = Annotated[Principal, Depends(require("admin"))]
