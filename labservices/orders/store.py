"""Orders' own SQLite database beside its event store: the list of orders, the follower's place, traces.

The event store (``orders-events.sqlite3``, the eventsourcing library's) is the truth. This
database holds what is derived from it: ``orders_index`` (a small read model, so the list can
be filtered without replaying every order), ``follower`` (how far the log tailer has read the
event store's notification log), ``traces`` (which trace each event was recorded in, so the bus
carries it on), and the outbox and inbox of the event bus.
"""
from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends

from labservices.common import Database
from labservices.common.deps import store_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders_index (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    customer TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders_index(status, created_at);
CREATE TABLE IF NOT EXISTS follower (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS traces (
    order_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    traceparent TEXT NOT NULL,
    PRIMARY KEY (order_id, version)
);
"""


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        self.db.reset()

    def position(self) -> int:
        with self.db.tx() as conn:
            row = conn.execute("SELECT position FROM follower WHERE name = 'outbox'").fetchone()
            return row[0] if row else 0

    def remember_trace(self, order_id: str, version: int, traceparent: str | None) -> None:
        if traceparent:
            with self.db.tx() as conn:
                conn.execute("INSERT OR IGNORE INTO traces VALUES (?,?,?)", (order_id, version, traceparent))

    def orders(self, status: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        with self.db.tx() as conn:
            where, args = ("WHERE status = ?", [status]) if status else ("", [])
            total = conn.execute(f"SELECT COUNT(*) FROM orders_index {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM orders_index {where} ORDER BY created_at DESC, order_id LIMIT ? OFFSET ?",
                                [*args, limit, offset]).fetchall()
            return [_summary(r) for r in rows], total


def advance(conn, position: int) -> None:
    conn.execute("INSERT INTO follower (name, position) VALUES ('outbox', ?) "
                 "ON CONFLICT(name) DO UPDATE SET position = excluded.position", (position,))


def trace_of(conn, order_id: str, version: int) -> str | None:
    row = conn.execute("SELECT traceparent FROM traces WHERE order_id = ? AND version = ?",
                       (order_id, version)).fetchone()
    return row[0] if row else None


def index(conn, order: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO orders_index (order_id, status, total, customer, version, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT(order_id) DO UPDATE SET status = excluded.status,"
        " version = excluded.version, updated_at = excluded.updated_at WHERE excluded.version > orders_index.version",
        (order["order_id"], order["status"], order["total"], json.dumps(order["customer"], ensure_ascii=False),
         order["version"], order["created_at"], order["updated_at"]))


def _summary(row) -> dict:
    return {"order_id": row["order_id"], "status": row["status"], "total": row["total"],
            "customer": json.loads(row["customer"]), "version": row["version"], "created_at": row["created_at"],
            "updated_at": row["updated_at"]}


StoreDep = Annotated[Store, Depends(store_of)]
