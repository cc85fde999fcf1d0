"""Webhooks about what members did (opened, clicked, subscribed, unsubscribed), signed and retried.

An event becomes one delivery per webhook of the audience that asked for its type, written in
the same transaction as the activity itself. The worker POSTs each delivery's exact bytes with
Standard Webhooks headers (``labservices.common.signing``; the ``webhook-id`` stays the same across
attempts) and tries again after the settings' waits until the receiver answers 2xx in time;
after the last wait the delivery is ``failed``.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time

import httpx

from labservices.common import signing
from labservices.common.client import ServiceClient, TargetRefused
from labservices.common.clock import iso

from .settings import Settings
from .store import Store

log = logging.getLogger("labservices.mailer.delivery")
POLL_S = 0.5


def emit(conn, list_id: str, type_: str, data: dict) -> int:
    """One delivery per webhook of ``list_id`` that asked for ``type_``; how many were queued."""
    now = time.time()
    body = json.dumps({"type": type_, "fired_at": iso(now), "data": {"list_id": list_id, **data}}, ensure_ascii=False)
    queued = 0
    for hook in conn.execute("SELECT id, events FROM webhooks WHERE list_id = ?", (list_id,)).fetchall():
        if json.loads(hook["events"]).get(type_):
            conn.execute("INSERT INTO deliveries (id, webhook_id, type, body, status, next_at, created_at, updated_at)"
                         " VALUES (?,?,?,?, 'pending', ?,?,?)", (f"msg_{secrets.token_hex(12)}", hook["id"], type_,
                                                                 body, now, now, now))
            queued += 1
    return queued


class Deliverer:
    """The worker: sends due deliveries, records each attempt, schedules the next."""

    def __init__(self, store: Store, settings: Settings, client: ServiceClient) -> None:
        self.store, self.settings, self.client = store, settings, client
        self._bell: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        if self._loop is not None and self._bell is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._bell.set)

    async def run(self, app=None) -> None:
        self._loop, self._bell = asyncio.get_running_loop(), asyncio.Event()
        while True:
            self._bell.clear()
            due = await asyncio.to_thread(self._due)
            await asyncio.gather(*(self._attempt(row) for row in due))
            if not due:
                try:
                    await asyncio.wait_for(self._bell.wait(), POLL_S)
                except asyncio.TimeoutError:
                    pass

    def _due(self) -> list[dict]:
        with self.store.db.tx() as conn:
            rows = conn.execute("SELECT d.*, w.url, w.secret FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id "
                                "WHERE d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at LIMIT 20",
                                (time.time(),)).fetchall()
            return [dict(r) for r in rows]

    async def _attempt(self, row: dict) -> None:
        body = row["body"].encode()
        headers = {"Content-Type": "application/json", "User-Agent": "IntegrationLab-Mailer/1.0",
                   **signing.signature_headers([row["secret"]], row["id"], int(time.time()), body)}
        status, error = None, None
        try:
            resp = await self.client.post(row["url"], content=body, headers=headers,
                                          timeout=self.settings.delivery_timeout_s)
            status = resp.status_code
        except (httpx.HTTPError, TargetRefused) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ok = status is not None and 200 <= status < 300
        await asyncio.to_thread(self._record, row, ok, status, error)
        log.info("webhook %s %s", row["type"], "delivered" if ok else "failed", extra={
            "delivery_id": row["id"], "url": row["url"], "status_code": status, "error": error,
            "attempt": row["attempts"] + 1})

    def _record(self, row: dict, ok: bool, status: int | None, error: str | None) -> None:
        attempts = row["attempts"] + 1
        waits = [w * self.settings.retry_time_scale for w in self.settings.retry_schedule_s]
        if ok:
            state, next_at = "succeeded", time.time()
        elif attempts > len(waits):
            state, next_at = "failed", time.time()
        else:
            state, next_at = "pending", time.time() + waits[attempts - 1]
        with self.store.db.tx() as conn:
            conn.execute("UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, last_status = ?, last_error = ?,"
                         " updated_at = ? WHERE id = ?", (state, attempts, next_at, status, error, time.time(), row["id"]))
