"""POST /oauth/token: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) that issues JWTs.

Errors here follow RFC 6749 §5.2 (``{"error": "invalid_client", "error_description": ...}``),
not the lecture's envelope, because OAuth client libraries parse exactly that shape;
``request_id`` and ``timestamp`` are added so the error can still be traced.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from labservices.common.clock import now_iso
from labservices.common.context import current_request_id

from .. import tokens
from ..auth import scopes_of
from ..models import OAuthError, Token
from ..settings import OAuthClient, Settings, SettingsDep

router = APIRouter(tags=["OAuth 2.0"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FormField = Annotated[str | None, Form()]


class OAuthFailure(Exception):
    def __init__(self, status: int, error: str, description: str, challenge: bool = False) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.challenge = status, error, description, challenge

    def response(self) -> JSONResponse:
        body = OAuthError(error=self.error, error_description=self.description, request_id=current_request_id(),
                          timestamp=now_iso())
        headers = dict(NO_STORE)
        if self.challenge:
            headers["WWW-Authenticate"] = 'Basic realm="shop", charset="UTF-8"'
        return JSONResponse(body.model_dump(), status_code=self.status, headers=headers)


def _client_credentials(request: Request, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
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


def _client(settings: Settings, client_id: str, client_secret: str) -> OAuthClient:
    for client in settings.oauth_clients:
        if client.client_id == client_id and hmac.compare_digest(client.client_secret.encode(), client_secret.encode()):
            return client
    raise OAuthFailure(401, "invalid_client", "Unknown client_id or wrong client_secret", True)


def _granted_scopes(client: OAuthClient, requested: str | None) -> list[str]:
    allowed = scopes_of([client.role])
    if not requested:
        return allowed
    wanted = requested.split()
    if not set(wanted) <= set(allowed):
        raise OAuthFailure(400, "invalid_scope", f"This client may ask only for: {' '.join(allowed)}")
    return [s for s in allowed if s in wanted]


@router.post("/oauth/token", response_model=Token, responses={
    400: {"model": OAuthError, "description": "invalid_request, unsupported_grant_type or invalid_scope"},
    401: {"model": OAuthError, "description": "invalid_client"}})
def issue_token(request: Request, settings: SettingsDep, grant_type: FormField = None, client_id: FormField = None,
                client_secret: FormField = None, scope: FormField = None) -> JSONResponse:
    """Exchange client_id and client_secret for a Bearer JWT (grant_type=client_credentials)."""
    try:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise OAuthFailure(400, "invalid_request", "Send the form as application/x-www-form-urlencoded")
        if not grant_type:
            raise OAuthFailure(400, "invalid_request", "grant_type is required: grant_type=client_credentials")
        if grant_type != "client_credentials":
            raise OAuthFailure(400, "unsupported_grant_type", "This server supports only grant_type=client_credentials")
        client = _client(settings, *_client_credentials(request, client_id, client_secret))
        scopes = _granted_scopes(client, scope)
    except OAuthFailure as failure:
        return failure.response()
    token, ttl = tokens.issue(settings, client, scopes, [client.role])
    body = Token(access_token=token, expires_in=ttl, scope=" ".join(scopes))
    return JSONResponse(body.model_dump(), headers=NO_STORE)
