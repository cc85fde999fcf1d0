"""The two tables that make a service's events reliable, in the service's own SQLite database.

**Outbox** (microservices.io's *transactional outbox*): a change and the event that announces it
are written in the same local transaction, so either both happen or neither; a relay publishes
the outbox to the bus afterwards and marks each row sent once the broker has confirmed it. A
stopped broker delays events; it never loses one.

**Inbox** (the *idempotent consumer*): the id of every event a consumer has processed, written in
the same transaction as the effects of processing it; a redelivered or duplicated event finds
its id there and changes nothing.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from opentelemetry import propagate

from .envelope import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    subject TEXT,
    body BLOB NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(sent_at, seq);
CREATE TABLE IF NOT EXISTS inbox (
    event_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    subject TEXT,
    source TEXT NOT NULL,
    received_at REAL NOT NULL
);
"""


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the span running now (a request, or an event being handled)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def emit(conn: sqlite3.Connection, event: Event) -> Event:
    """Put ``event`` in the outbox, inside the caller's transaction; it carries the current trace."""
    if event.traceparent is None:
        event = Event(event.type, event.source, event.subject, event.data, event.id, event.time,
                      current_traceparent())
    conn.execute("INSERT OR IGNORE INTO outbox (event_id, type, subject, body, created_at) VALUES (?,?,?,?,?)",
                 (event.id, event.type, event.subject, event.to_json(), time.time()))
    return event


@dataclass(frozen=True)
class Pending:
    seq: int
    event_id: str
    type: str
    body: bytes


def pending(conn: sqlite3.Connection, limit: int = 100) -> list[Pending]:
    """Events not yet confirmed by the broker, oldest first (the relay publishes them in this order)."""
    rows = conn.execute("SELECT seq, event_id, type, body FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
                        (limit,)).fetchall()
    return [Pending(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def mark_sent(conn: sqlite3.Connection, seqs: list[int]) -> None:
    conn.executemany("UPDATE outbox SET sent_at = ? WHERE seq = ?", [(time.time(), s) for s in seqs])


def outbox_counts(conn: sqlite3.Connection) -> dict[str, int]:
    row = conn.execute("SELECT COUNT(*), COUNT(sent_at) FROM outbox").fetchone()
    return {"total": row[0], "sent": row[1], "pending": row[0] - row[1]}


def seen(conn: sqlite3.Connection, event_id: str) -> bool:
    return conn.execute("SELECT 1 FROM inbox WHERE event_id = ?", (event_id,)).fetchone() is not None


def remember(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("INSERT INTO inbox (event_id, type, subject, source, received_at) VALUES (?,?,?,?,?)",
                 (event.id, event.type, event.subject, event.source, time.time()))
