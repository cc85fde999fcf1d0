"""Billing's own SQLite database: one payment per order (its webhook endpoint: ``common.payments_webhooks``)."""
from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends

from labservices.common import ApiError, Database
from labservices.common.clock import iso
from labservices.common.deps import store_of
from labservices.common.payments_webhooks import reset_keeping_endpoint

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    order_id TEXT PRIMARY KEY,
    intent_id TEXT,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_intent ON payments(intent_id);
"""

STATUSES = ("requested", "succeeded", "failed", "refunded")


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        """Forget every payment, keep the webhook endpoint at payments."""
        reset_keeping_endpoint(self.db)

    def payments(self, status: str | None, limit: int) -> list[dict]:
        with self.db.tx() as conn:
            where, args = ("WHERE status = ?", [status]) if status else ("", [])
            rows = conn.execute(f"SELECT * FROM payments {where} ORDER BY updated_at DESC LIMIT ?", [*args, limit])
            return [_payment(r) for r in rows]

    def payment(self, order_id: str) -> dict:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM payments WHERE order_id = ?", (order_id,)).fetchone()
            if row is None:
                raise ApiError(404, "NOT_FOUND", f"Платежу для замовлення {order_id} немає")
            return _payment(row)


# --- inside a transaction ------------------------------------------------------------------------


def get(conn, order_id: str):
    return conn.execute("SELECT * FROM payments WHERE order_id = ?", (order_id,)).fetchone()


def requested(conn, order_id: str, intent_id: str, amount: int) -> None:
    conn.execute("INSERT INTO payments (order_id, intent_id, amount, status, updated_at) VALUES (?,?,?,'requested',?)"
                 " ON CONFLICT(order_id) DO UPDATE SET intent_id = excluded.intent_id", (order_id, intent_id, amount,
                                                                                         time.time()))


def settle(conn, order_id: str, status: str, reason: str | None = None) -> None:
    conn.execute("UPDATE payments SET status = ?, reason = ?, updated_at = ? WHERE order_id = ?",
                 (status, reason, time.time(), order_id))


def mark_cancelled(conn, order_id: str) -> None:
    conn.execute("UPDATE payments SET cancelled = 1, updated_at = ? WHERE order_id = ?", (time.time(), order_id))


def _payment(row) -> dict:
    return {"order_id": row["order_id"], "payment_intent": row["intent_id"], "amount": row["amount"],
            "status": row["status"], "reason": row["reason"], "order_cancelled": bool(row["cancelled"]),
            "updated_at": iso(row["updated_at"], ms=True)}


StoreDep = Annotated[Store, Depends(store_of)]
