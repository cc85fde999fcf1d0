"""The middleware's client of the CRM: OAuth 2.0 client credentials, then contacts, deals and activities.

This is the consumer side of the contract with the CRM (``tests/pact``): the requests it sends and
the fields of the answers it reads are exactly what the Pact file records, and the CRM is verified
against that file. The token is fetched once and reused until a minute before it expires; a 401
fetches a new one and tries once more (a token revoked or signed with a rotated key).
"""
from __future__ import annotations

import time
from typing import Any

import httpx

from labservices.common.client import ServiceClient


class CrmError(Exception):
    """The CRM answered with an error; ``status`` says which (None: no answer at all)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CrmClient:
    def __init__(self, client: ServiceClient, base_url: str, client_id: str, client_secret: str) -> None:
        self.client, self.base_url = client, base_url.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self._token: str | None = None
        self._expires_at = 0.0

    async def token(self) -> str:
        """A Bearer token from ``POST /services/oauth2/token`` (client credentials), cached until near expiry."""
        if self._token is None or time.time() > self._expires_at - 60:
            resp = await self._send("POST", "/services/oauth2/token", data={
                "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret})
            if resp.status_code != 200:
                raise CrmError(f"the CRM refused the credentials: {resp.status_code} {resp.text[:200]}", resp.status_code)
            body = resp.json()
            self._token, self._expires_at = body["access_token"], time.time() + int(body["expires_in"])
        return self._token

    async def find_contact(self, email: str) -> dict | None:
        """The contact with this email, or None (``GET /api/contacts?email=``)."""
        found = await self._call("GET", "/api/contacts", params={"email": email})
        return found["data"][0] if found["data"] else None

    async def create_contact(self, fields: dict[str, Any]) -> dict:
        """A new contact (``POST /api/contacts``, 201)."""
        return await self._call("POST", "/api/contacts", json=fields)

    async def upsert_deal(self, external_id: str, fields: dict[str, Any]) -> dict:
        """The deal of this external id, created or updated (``PUT /api/deals/by-external-id/{id}``)."""
        return await self._call("PUT", f"/api/deals/by-external-id/{external_id}", json=fields)

    async def add_activity(self, contact_id: str, fields: dict[str, Any]) -> dict:
        """Record what the contact did (``POST /api/contacts/{id}/activities``), once per external_id."""
        return await self._call("POST", f"/api/contacts/{contact_id}/activities", json=fields)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            resp = await self._send(method, path, headers={"Authorization": f"Bearer {await self.token()}"}, **kwargs)
            if resp.status_code == 401 and attempt == 1:
                self._token = None  # revoked or expired early: one new token, one more try
                continue
            if resp.status_code >= 400:
                raise CrmError(f"{method} {path}: {resp.status_code} {_message(resp)}", resp.status_code)
            return resp.json()
        raise AssertionError("unreachable")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise CrmError(f"the CRM did not answer: {type(exc).__name__}") from None


def _message(resp: httpx.Response) -> str:
    try:
        return str(resp.json()["error"]["message"])[:200]
    except (ValueError, KeyError, TypeError):
        return resp.text[:200]
