"""Idempotency keys, as Stripe and the IETF draft describe them, for any service's POST.

A client sends ``Idempotency-Key: <uuid>`` with a request that creates something. The
service stores the answer under that key in the same transaction as the change; when the
same key comes again (the client retried after a timeout), it answers the stored response
(with ``Idempotent-Replayed: true``) and creates nothing. The same key with a different
request is a mistake the client must hear about: 422 ``IDEMPOTENCY_KEY_REUSED``. Keys are
per caller (``scope``) and forgotten after ``ttl_s`` (24 h by default, as Stripe does).

    idem = Idempotency.of(key, scope=principal.rate_key, request=(path, body))
    with db.tx() as conn:
        if (saved := replay(conn, idem)) is not None:
            return saved
        ... create ...
        remember(conn, idem, 201, body, location)
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header

from .errors import ApiError

DEFAULT_TTL_S = 86_400

# Every service's database that uses keys includes this table in its schema.
SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_records (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    location TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
"""

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255,
    description="Any unique string (a UUID): resending the same request with it creates nothing new")]


@dataclass(frozen=True)
class Idempotency:
    """A key as the store keeps it: whose it is, and a fingerprint of the request it first came with."""

    key: str
    scope: str
    fingerprint: str
    ttl_s: int = DEFAULT_TTL_S

    @classmethod
    def of(cls, key: str | None, *, scope: str = "", request: Any = None,
           ttl_s: int = DEFAULT_TTL_S) -> "Idempotency | None":
        """The key of this request, or None when the client sent none."""
        if key is None:
            return None
        raw = json.dumps(request, sort_keys=True, ensure_ascii=False, default=str)
        return cls(key, scope, hashlib.sha256(raw.encode()).hexdigest(), ttl_s)


@dataclass(frozen=True)
class Saved:
    """A stored answer: replayed as it was first sent."""

    status: int
    body: Any
    location: str | None

    def headers(self) -> dict[str, str]:
        headers = {"Idempotent-Replayed": "true"}
        if self.location:
            headers["Location"] = self.location
        return headers


def replay(conn: sqlite3.Connection, idem: Idempotency) -> Saved | None:
    """The answer stored under this key, None for a new key; 422 when it came with another request."""
    conn.execute("DELETE FROM idempotency_records WHERE created_at < ?", (time.time() - idem.ttl_s,))
    row = conn.execute("SELECT fingerprint, status, body, location FROM idempotency_records "
                       "WHERE scope = ? AND key = ?", (idem.scope, idem.key)).fetchone()
    if row is None:
        return None
    if row[0] != idem.fingerprint:
        raise ApiError(422, "IDEMPOTENCY_KEY_REUSED",
                       "Цей Idempotency-Key вже використано для іншого запиту; для нового запиту потрібен новий ключ",
                       [{"field": "Idempotency-Key", "message": "Тіло або адреса запиту відрізняються від першого запиту"}])
    return Saved(row[1], json.loads(row[2]), row[3])


def remember(conn: sqlite3.Connection, idem: Idempotency, status: int, body: Any, location: str | None = None) -> None:
    """Store the answer under the key, in the caller's transaction (with the change it answers)."""
    conn.execute("INSERT INTO idempotency_records (scope, key, fingerprint, status, body, location, created_at)"
                 " VALUES (?,?,?,?,?,?,?)",
                 (idem.scope, idem.key, idem.fingerprint, status, json.dumps(body, ensure_ascii=False), location,
                  time.time()))
