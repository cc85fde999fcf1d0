"""Hearing from the payments service by webhook, for every service that does (billing, accounting).

A service that wants payment events registers a webhook endpoint at the payments service (as a
shop registers one at Stripe) and keeps it registered: payments may be reset, and then the
endpoint is gone. Each delivery is verified with Standard Webhooks (the ``standardwebhooks``
library, with the endpoint's secret) before anything is believed, and a delivery that comes
again (payments delivers at least once) is recognised by its ``webhook-id``::

    hooks = PaymentsWebhooks(store.db, app.state.client, own_url, ["payment_intent.succeeded"], "accounting")
    app.state.workers.append(hooks.keep)
    payload = await hooks.verify(body, headers)            # 401 in the envelope when forged
    with db.tx() as conn:
        if hooks.first_time(conn, headers["webhook-id"], payload["type"]): ...
"""
from __future__ import annotations

import asyncio
import logging
import time

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from .client import ServiceClient, TargetRefused
from .db import Database
from .declaration import declared
from .errors import ApiError

log = logging.getLogger("labservices.payments_webhooks")

CHECK_ENDPOINT_S = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments_endpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    endpoint_id TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    registered_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS payments_webhooks_seen (
    webhook_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at REAL NOT NULL
);
"""


def payments_url() -> str:
    return declared("payments").url


def reset_keeping_endpoint(db: Database) -> None:
    """Reset ``db`` (a service's data) but keep its endpoint at payments: where it is, not what it knows.

    (Dropping the endpoint left the service answering deliveries it could no longer verify until it
    registered again.)
    """
    with db.tx() as conn:
        known = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'payments_endpoint'").fetchone()
        kept = conn.execute("SELECT * FROM payments_endpoint").fetchone() if known else None
    db.reset()
    if kept is not None:
        with db.tx() as conn:
            conn.execute("INSERT INTO payments_endpoint (id, endpoint_id, url, secret, registered_at) VALUES (?,?,?,?,?)",
                         tuple(kept))


class PaymentsWebhooks:
    """One service's webhook endpoint at the payments service: registered, kept, verified."""

    def __init__(self, db: Database, client: ServiceClient, own_url: str, events: list[str], description: str,
                 path: str = "/webhooks/payments") -> None:
        self.db, self.client, self.events, self.description = db, client, events, description
        self.url = own_url.rstrip("/") + path
        db.extend(SCHEMA)

    def endpoint(self) -> dict | None:
        """The registered endpoint (its id, URL and secret), None before the first registration."""
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM payments_endpoint").fetchone()
            return dict(row) if row else None

    def _save(self, endpoint_id: str, secret: str) -> None:
        with self.db.tx() as conn:
            conn.execute("INSERT INTO payments_endpoint (id, endpoint_id, url, secret, registered_at) VALUES (1,?,?,?,?)"
                         " ON CONFLICT(id) DO UPDATE SET endpoint_id = excluded.endpoint_id, url = excluded.url,"
                         " secret = excluded.secret, registered_at = excluded.registered_at",
                         (endpoint_id, self.url, secret, time.time()))

    async def keep(self, app=None) -> None:
        """Worker: make sure payments knows where to deliver (again after a payments reset)."""
        while True:
            try:
                await self.ensure()
            except (httpx.HTTPError, TargetRefused, KeyError, ValueError) as exc:
                log.warning("cannot register the webhook endpoint at payments yet: %s", exc)
            await asyncio.sleep(CHECK_ENDPOINT_S)

    async def ensure(self) -> dict:
        """The endpoint, registered at payments now if it is not (or no longer) there."""
        saved = await asyncio.to_thread(self.endpoint)
        if saved and saved["url"] == self.url:
            resp = await self.client.get(f"{payments_url()}/api/webhook_endpoints/{saved['endpoint_id']}")
            if resp.status_code == 200 and resp.json().get("status") == "enabled":
                return saved
        resp = await self.client.post(f"{payments_url()}/api/webhook_endpoints", json={
            "url": self.url, "enabled_events": self.events, "description": self.description})
        resp.raise_for_status()
        endpoint = resp.json()
        await asyncio.to_thread(self._save, endpoint["id"], endpoint["secret"])
        log.info("registered the webhook endpoint at payments", extra={"endpoint_id": endpoint["id"]})
        return await asyncio.to_thread(self.endpoint)

    async def verify(self, body: bytes, headers: dict[str, str]) -> dict:
        """The delivery's payload once its Standard Webhooks signature checks out; 401 or 503 otherwise."""
        endpoint = await asyncio.to_thread(self.endpoint)
        if endpoint is None:  # not registered yet, or forgotten by a reset: register now, not in 10 s
            try:
                endpoint = await self.ensure()
            except (httpx.HTTPError, TargetRefused, KeyError, ValueError):
                raise ApiError(503, "NOT_READY", "Сервіс ще не зареєстрував вебхук у payments; спробуйте за мить",
                               headers={"Retry-After": "1"}) from None
        try:
            payload = Webhook(endpoint["secret"]).verify(body, headers)
        except WebhookVerificationError as exc:
            raise ApiError(401, "INVALID_SIGNATURE", f"Підпис вебхука не збігається: {exc}") from None
        except (ValueError, RecursionError):  # signed, but not JSON
            payload = None
        if not isinstance(payload, dict):
            raise ApiError(400, "VALIDATION_ERROR", "Тіло вебхука має бути JSON-об'єктом")
        return payload

    @staticmethod
    def first_time(conn, webhook_id: str, type_: str) -> bool:
        """True the first time a webhook id is seen (payments may deliver one event more than once)."""
        return conn.execute("INSERT OR IGNORE INTO payments_webhooks_seen VALUES (?,?,?)",
                            (webhook_id, type_, time.time())).rowcount == 1
