"""The CRM's settings, read from ``CRM_``-prefixed environment variables.

The defaults are the sandbox's credentials, shown to students on purpose: the middleware's
client (``lab-middleware`` / ``mw-secret``, may read and write) and a read-only one.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, oauth
from labservices.common.deps import settings_of

ROLE_SCOPES = {"integration": ["read", "write"], "reader": ["read"]}


class CrmClient(oauth.OAuthClient):
    """An application allowed to call the CRM (a Salesforce "connected app")."""

    role: Literal["integration", "reader"]


DEFAULT_CLIENTS = [
    CrmClient(client_id="lab-middleware", client_secret="mw-secret", role="integration"),
    CrmClient(client_id="crm-reader", client_secret="reader-secret", role="reader"),
    CrmClient(client_id="short-lived", client_secret="short-secret", role="integration", token_ttl_s=5),
]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    jwt_secret: str = Field(default="integration-lab-crm-jwt-secret-for-teaching", min_length=32,
                            description="HS256 key of access tokens; a sandbox secret")
    jwt_issuer: str = "integration-lab-crm"
    jwt_audience: str = "crm-api"
    oauth_clients: list[CrmClient] = Field(default_factory=lambda: list(DEFAULT_CLIENTS))

    def token_issuer(self) -> oauth.TokenIssuer:
        return oauth.TokenIssuer(self.jwt_secret, self.jwt_issuer, self.jwt_audience)


SettingsDep = Annotated[Settings, Depends(settings_of)]
require = oauth.BearerScopes("crm")
