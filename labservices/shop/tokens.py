"""The shop's access tokens (OAuth 2.0 client credentials): the common JWT implementation with its settings."""
from __future__ import annotations

from typing import Any

from labservices.common.auth import InvalidToken, issue_token, verify_token

from .settings import OAuthClient, Settings

__all__ = ["issue", "verify", "InvalidToken"]


def issue(settings: Settings, client: OAuthClient, scopes: list[str], roles: list[str]) -> tuple[str, int]:
    """A signed access token for ``client`` and how many seconds it lives."""
    token = issue_token(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                        subject=client.client_id, ttl_s=client.token_ttl_s, scope=" ".join(scopes), roles=roles)
    return token, client.token_ttl_s


def verify(settings: Settings, token: str) -> dict[str, Any]:
    """The token's claims, or InvalidToken saying what is wrong with it."""
    return verify_token(token, settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
