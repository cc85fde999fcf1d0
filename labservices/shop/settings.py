"""The shop's settings, read from ``SHOP_``-prefixed environment variables.

The defaults are the sandbox's credentials: the API keys, OAuth clients and token
settings that notebooks show students (``GET /api/credentials`` lists them too).
Lists are overridden with JSON, e.g. ``SHOP_API_KEYS='[{"key": "k1", "name": "mine", "role": "reader"}]'``.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, oauth
from labservices.common.deps import settings_of

Role = Literal["reader", "user", "moderator", "manager", "admin"]


class ApiKey(BaseModel):
    """An application's API key; ``rate_limit``/``rate_window_s`` override the service default."""

    key: str = Field(min_length=8)
    name: str
    role: Role
    rate_limit: int | None = Field(default=None, ge=1)
    rate_window_s: int | None = Field(default=None, ge=1)


class OAuthClient(oauth.OAuthClient):
    """A client of the OAuth 2.0 client-credentials grant, with one of the shop's roles."""

    role: Role


DEFAULT_API_KEYS = [
    ApiKey(key="abc123def456", name="lecture-demo", role="reader"),
    ApiKey(key="manager-key-456", name="warehouse-app", role="manager"),
    ApiKey(key="admin-key-789", name="admin-console", role="admin"),
    ApiKey(key="ratelimit-demo-key", name="rate-limit-demo", role="reader", rate_limit=5, rate_window_s=10),
]

DEFAULT_OAUTH_CLIENTS = [
    OAuthClient(client_id="my_app", client_secret="secret123", role="manager"),
    OAuthClient(client_id="reader_app", client_secret="reader-secret", role="reader"),
    OAuthClient(client_id="admin_app", client_secret="admin-secret", role="admin"),
    OAuthClient(client_id="short_lived_app", client_secret="short-secret", role="manager", token_ttl_s=5),
]


class Settings(ServiceSettings):
    """Everything the shop reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SHOP_", extra="ignore")

    jwt_secret: str = Field(
        default="integration-lab-shop-jwt-secret-for-teaching-only", min_length=32,
        description="HS256 key of access tokens; a sandbox secret, shown to students on purpose",
    )
    jwt_issuer: str = "integration-lab-shop"
    jwt_audience: str = "shop-api"
    rate_limit_per_minute: int = Field(default=60, ge=1, description="Requests per minute per API key, client or user")
    idempotency_ttl_s: int = Field(default=86_400, ge=60, description="How long an Idempotency-Key is remembered")
    api_keys: list[ApiKey] = Field(default_factory=lambda: list(DEFAULT_API_KEYS))
    oauth_clients: list[OAuthClient] = Field(default_factory=lambda: list(DEFAULT_OAUTH_CLIENTS))

    def token_issuer(self) -> oauth.TokenIssuer:
        """Signs and verifies the shop's access tokens (labservices.common.oauth)."""
        return oauth.TokenIssuer(self.jwt_secret, self.jwt_issuer, self.jwt_audience)


SettingsDep = Annotated[Settings, Depends(settings_of)]
