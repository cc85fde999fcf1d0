"""OAuth 2.0 client credentials (RFC 6749 §4.4) with JWT access tokens, for every lab service that issues them.

The shop (notebook 02) and the CRM (notebook 08, as Salesforce's API is called) both let an
application exchange its ``client_id`` and ``client_secret`` for a short-lived Bearer token::

    router = token_router("/oauth/token", realm="shop", scopes_for=lambda client: ["read"])

The service's settings carry the clients (``oauth_clients``) and the signing key
(``token_issuer()``); the tokens themselves are ``labservices.common.auth``'s JWTs (the algorithm
pinned, ``exp``, ``iat``, ``iss``, ``aud`` and ``sub`` required). Errors of the token endpoint follow RFC 6749 §5.2 (``{"error": "invalid_client",
"error_description": ...}``), not the lecture's envelope, because OAuth client libraries parse
exactly that shape; ``request_id`` and ``timestamp`` are added so the error can still be traced.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Protocol
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .auth import InvalidToken, issue_token, verify_token
from .clock import now_iso
from .context import current_request_id
from .errors import ApiError

__all__ = ["InvalidToken", "OAuthClient", "OAuthError", "Token", "TokenIssuer", "BearerScopes", "token_router"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthClient(BaseModel):
    """A client of the client-credentials grant; a service narrows ``role`` to its own roles."""

    client_id: str
    client_secret: str
    role: str
    token_ttl_s: int = Field(default=3600, ge=1, le=86_400)


class Token(BaseModel):
    """RFC 6749 §5.1 access token response."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...", "token_type": "Bearer",
        "expires_in": 3600, "scope": "read write"}]})

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error response (what OAuth libraries expect from a token endpoint)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "error": "invalid_client", "error_description": "Unknown client_id or wrong client_secret",
        "request_id": "req_abc123", "timestamp": "2024-02-08T10:30:45Z"}]})

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str
    request_id: str | None = None
    timestamp: str


@dataclass(frozen=True)
class TokenIssuer:
    """One service's signing key and names for its access tokens (``labservices.common.auth`` signs them)."""

    secret: str
    issuer: str
    audience: str

    def issue(self, client: OAuthClient, scopes: list[str], roles: list[str]) -> tuple[str, int]:
        """A signed access token for ``client`` and how many seconds it lives."""
        token = issue_token(self.secret, issuer=self.issuer, audience=self.audience, subject=client.client_id,
                            ttl_s=client.token_ttl_s, scope=" ".join(scopes), roles=roles)
        return token, client.token_ttl_s

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or InvalidToken saying what is wrong with it."""
        return verify_token(token, self.secret, issuer=self.issuer, audience=self.audience)


class IssuesTokens(Protocol):
    """What a service's settings provide to the token endpoint."""

    oauth_clients: list

    def token_issuer(self) -> TokenIssuer: ...


class OAuthFailure(Exception):
    def __init__(self, status: int, error: str, description: str, challenge: bool = False) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.challenge = status, error, description, challenge

    def response(self, realm: str) -> JSONResponse:
        body = OAuthError(error=self.error, error_description=self.description, request_id=current_request_id(),
                          timestamp=now_iso())
        headers = dict(NO_STORE)
        if self.challenge:
            headers["WWW-Authenticate"] = f'Basic realm="{realm}", charset="UTF-8"'
        return JSONResponse(body.model_dump(), status_code=self.status, headers=headers)


def client_credentials(request: Request, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """(client_id, client_secret) from the Basic header (client_secret_basic) or the form (client_secret_post)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        if client_secret is not None:
            raise OAuthFailure(400, "invalid_request", "Send the client secret once: in the Basic header or in the form")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise OAuthFailure(401, "invalid_client", "The Basic header must be base64 of client_id:client_secret", True)
        basic_id, _, basic_secret = decoded.partition(":")
        return unquote(basic_id), unquote(basic_secret)
    if not client_id or client_secret is None:
        raise OAuthFailure(401, "invalid_client", "Send client_id and client_secret (form fields or a Basic header)", True)
    return client_id, client_secret


def find_client(clients: list[OAuthClient], client_id: str, client_secret: str) -> OAuthClient:
    """The client with this id and secret (compared in constant time); invalid_client otherwise."""
    for client in clients:
        if client.client_id == client_id and hmac.compare_digest(client.client_secret.encode(), client_secret.encode()):
            return client
    raise OAuthFailure(401, "invalid_client", "Unknown client_id or wrong client_secret", True)


def granted_scopes(allowed: list[str], requested: str | None) -> list[str]:
    """The scopes asked for (all allowed ones when none are named); invalid_scope for any other."""
    if not requested:
        return allowed
    wanted = requested.split()
    if not set(wanted) <= set(allowed):
        raise OAuthFailure(400, "invalid_scope", f"This client may ask only for: {' '.join(allowed)}")
    return [s for s in allowed if s in wanted]


FormField = Annotated[str | None, Form()]


def token_router(path: str, *, realm: str, scopes_for: Callable[[OAuthClient], list[str]],
                 tags: list[str] | None = None) -> APIRouter:
    """``POST path``: the client-credentials grant over the app's ``settings`` (``IssuesTokens``)."""
    router = APIRouter(tags=tags or ["OAuth 2.0"])

    @router.post(path, response_model=Token, responses={
        400: {"model": OAuthError, "description": "invalid_request, unsupported_grant_type or invalid_scope"},
        401: {"model": OAuthError, "description": "invalid_client"}})
    def issue_token(request: Request, grant_type: FormField = None, client_id: FormField = None,
                    client_secret: FormField = None, scope: FormField = None) -> JSONResponse:
        """Exchange client_id and client_secret for a Bearer JWT (grant_type=client_credentials)."""
        settings: IssuesTokens = request.app.state.settings
        try:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in ("application/x-www-form-urlencoded", "multipart/form-data"):
                raise OAuthFailure(400, "invalid_request", "Send the form as application/x-www-form-urlencoded")
            if not grant_type:
                raise OAuthFailure(400, "invalid_request", "grant_type is required: grant_type=client_credentials")
            if grant_type != "client_credentials":
                raise OAuthFailure(400, "unsupported_grant_type",
                                   "This server supports only grant_type=client_credentials")
            client = find_client(settings.oauth_clients, *client_credentials(request, client_id, client_secret))
            scopes = granted_scopes(scopes_for(client), scope)
        except OAuthFailure as failure:
            return failure.response(realm)
        token, ttl = settings.token_issuer().issue(client, scopes, [client.role])
        body = Token(access_token=token, expires_in=ttl, scope=" ".join(scopes))
        return JSONResponse(body.model_dump(), headers=NO_STORE)

    return router


class BearerScopes:
    """``require = BearerScopes("crm")``; ``Depends(require("write"))``: a valid Bearer token granting the scope.

    For services that take only Bearer tokens of their own issuing (the shop takes more schemes and
    reads them itself). No token or a bad one is 401 with ``WWW-Authenticate``; a token without the
    scope is 403. ``require.claims`` is the one dependency that reads the token (what
    ``openapi.document_security`` looks for); each scope's dependency returns the token's claims.
    """

    def __init__(self, realm: str) -> None:
        self.realm = realm

        async def claims(request: Request) -> dict[str, Any]:
            scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, "UNAUTHORIZED", "Потрібен Bearer-токен: отримайте його через client credentials",
                               headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})
            try:
                return request.app.state.settings.token_issuer().verify(token.strip())
            except InvalidToken as exc:
                raise ApiError(401, "INVALID_TOKEN", "Токен доступу недійсний або прострочений; отримайте новий",
                               headers={"WWW-Authenticate": f'Bearer realm="{realm}", error="invalid_token", '
                                                            f'error_description="{exc}"'}) from exc
        self.claims = claims

    def __call__(self, scope: str) -> Callable:
        realm = self.realm

        async def check(claims: dict = Depends(self.claims)) -> dict[str, Any]:  # noqa: B008 - a closure's dependency
            granted = claims.get("scope")
            if scope not in (granted.split() if isinstance(granted, str) else []):
                raise ApiError(403, "FORBIDDEN", f"Для цієї дії потрібен scope {scope!r}",
                               [{"field": "scope", "message": f"У токені: {granted if isinstance(granted, str) else 'немає'}"}],
                               headers={"WWW-Authenticate": f'Bearer realm="{realm}", error="insufficient_scope", '
                                                            f'scope="{scope}"'})
            return claims
        check.__name__ = f"require_{scope}"
        return check
