"""Shipping's own database: per order, what it has heard and the waybill once it ships."""
from __future__ import annotations

import json
import time
from typing import Annotated

from fastapi import Depends

from labservices.common import ApiError, Database
from labservices.common.clock import iso
from labservices.common.deps import store_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS shipments (
    order_id TEXT PRIMARY KEY,
    recipient TEXT,
    items TEXT,
    total INTEGER,
    reserved_at REAL,
    paid_at REAL,
    cancelled_at REAL,
    waybill TEXT,
    estimated_delivery TEXT,
    shipped_at REAL,
    updated_at REAL NOT NULL
);
"""


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        self.db.reset()

    def shipments(self, status: str | None, limit: int) -> list[dict]:
        with self.db.tx() as conn:
            rows = [public(r) for r in conn.execute("SELECT * FROM shipments ORDER BY updated_at DESC LIMIT 500")]
        return [r for r in rows if status is None or r["status"] == status][:limit]

    def shipment(self, order_id: str) -> dict:
        row = self.row(order_id)
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"Про замовлення {order_id} служба доставки ще нічого не чула")
        return public(row)

    def row(self, order_id: str):
        with self.db.tx() as conn:
            return conn.execute("SELECT * FROM shipments WHERE order_id = ?", (order_id,)).fetchone()


def note(conn, order_id: str, **fields) -> None:
    """Record what was heard about an order (the first time of each kind counts)."""
    conn.execute("INSERT OR IGNORE INTO shipments (order_id, updated_at) VALUES (?, ?)", (order_id, time.time()))
    for name, value in fields.items():
        if name in ("recipient", "items"):
            value = json.dumps(value, ensure_ascii=False)
        conn.execute(f"UPDATE shipments SET {name} = COALESCE({name}, ?), updated_at = ? WHERE order_id = ?",
                     (value, time.time(), order_id))


def status_of(row) -> str:
    if row is None:
        return "unknown"
    if row["waybill"]:
        return "shipped"
    if row["cancelled_at"]:
        return "cancelled"
    if row["reserved_at"] and row["paid_at"]:
        return "ready"
    return "waiting"


def public(row) -> dict:
    return {"order_id": row["order_id"], "status": status_of(row),
            "stock_reserved": bool(row["reserved_at"]), "paid": bool(row["paid_at"]),
            "recipient": json.loads(row["recipient"]) if row["recipient"] else None,
            "waybill": row["waybill"], "estimated_delivery": row["estimated_delivery"],
            "shipped_at": iso(row["shipped_at"], ms=True) if row["shipped_at"] else None,
            "updated_at": iso(row["updated_at"], ms=True)}


StoreDep = Annotated[Store, Depends(store_of)]
