"""Inventory's own SQLite database: stock per SKU and a reservation per order.

``available = on_hand - reserved``. A reservation holds stock for an order until the order is
shipped (the stock leaves: ``on_hand`` and ``reserved`` both drop) or cancelled (released).
All of an order's lines are reserved, or none.
"""
from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import Depends

from labservices.common import ApiError, Database
from labservices.common.catalog import PRODUCTS
from labservices.common.clock import iso
from labservices.common.deps import store_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    price INTEGER NOT NULL,
    on_hand INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);
CREATE TABLE IF NOT EXISTS reservations (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    items TEXT NOT NULL,
    reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""


def seed(conn) -> None:
    conn.executemany("INSERT INTO products (sku, title, price, on_hand) VALUES (?,?,?,?)", PRODUCTS)


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA, seed=seed)
        if self.db.is_empty("products"):
            self.db.reset()

    def reset(self) -> None:
        self.db.reset()

    # --- reads -------------------------------------------------------------------------------

    def products(self) -> list[dict]:
        with self.db.tx() as conn:
            return [_product(r) for r in conn.execute("SELECT * FROM products ORDER BY sku")]

    def product(self, sku: str) -> dict:
        with self.db.tx() as conn:
            return _product(_found(conn, sku))

    def set_stock(self, sku: str, on_hand: int) -> dict:
        with self.db.tx() as conn:
            row = _found(conn, sku)
            if on_hand < row["reserved"]:
                raise ApiError(409, "STOCK_BELOW_RESERVED",
                               f"На складі не може бути менше, ніж зарезервовано ({row['reserved']})",
                               [{"field": "on_hand", "message": f"Щонайменше {row['reserved']}"}])
            conn.execute("UPDATE products SET on_hand = ? WHERE sku = ?", (on_hand, sku))
            return _product(_found(conn, sku))

    def reservations(self, status: str | None, limit: int) -> list[dict]:
        with self.db.tx() as conn:
            where, args = ("WHERE status = ?", [status]) if status else ("", [])
            rows = conn.execute(f"SELECT * FROM reservations {where} ORDER BY updated_at DESC LIMIT ?", [*args, limit])
            return [_reservation(r) for r in rows]

    def reservation(self, order_id: str) -> dict:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM reservations WHERE order_id = ?", (order_id,)).fetchone()
            if row is None:
                raise ApiError(404, "NOT_FOUND", f"Резерву для замовлення {order_id} немає")
            return _reservation(row)


# --- what the event handlers do, inside the handler's transaction ------------------------------------


def reserve(conn, order_id: str, items: list[dict[str, Any]]) -> tuple[bool, list[dict]]:
    """Reserve every line or none; returns (reserved, the lines that could not be had)."""
    existing = conn.execute("SELECT status FROM reservations WHERE order_id = ?", (order_id,)).fetchone()
    if existing is not None:  # the same order again (a second OrderCreated with a new id): answer the same
        return existing["status"] == "reserved", []
    wanted: dict[str, int] = {}
    for item in items:
        wanted[item["sku"]] = wanted.get(item["sku"], 0) + int(item["quantity"])
    missing = []
    for sku, quantity in wanted.items():
        row = conn.execute("SELECT on_hand - reserved AS available FROM products WHERE sku = ?", (sku,)).fetchone()
        available = row["available"] if row else 0
        if available < quantity:
            missing.append({"sku": sku, "requested": quantity, "available": available})
    now = time.time()
    status = "rejected" if missing else "reserved"
    if not missing:
        for sku, quantity in wanted.items():
            conn.execute("UPDATE products SET reserved = reserved + ? WHERE sku = ?", (quantity, sku))
    reason = "; ".join(f"{m['sku']}: є {m['available']}, потрібно {m['requested']}" for m in missing) or None
    conn.execute("INSERT INTO reservations (order_id, status, items, reason, created_at, updated_at)"
                 " VALUES (?,?,?,?,?,?)", (order_id, status, json.dumps(wanted), reason, now, now))
    return not missing, missing


def release(conn, order_id: str) -> bool:
    """Give a cancelled order's stock back; False when there was nothing held."""
    row = conn.execute("SELECT * FROM reservations WHERE order_id = ?", (order_id,)).fetchone()
    if row is None or row["status"] != "reserved":
        return False
    for sku, quantity in json.loads(row["items"]).items():
        conn.execute("UPDATE products SET reserved = reserved - ? WHERE sku = ?", (quantity, sku))
    conn.execute("UPDATE reservations SET status = 'released', updated_at = ? WHERE order_id = ?",
                 (time.time(), order_id))
    return True


def commit(conn, order_id: str) -> bool:
    """The order left the warehouse: its reserved stock is gone for good."""
    row = conn.execute("SELECT * FROM reservations WHERE order_id = ?", (order_id,)).fetchone()
    if row is None or row["status"] != "reserved":
        return False
    for sku, quantity in json.loads(row["items"]).items():
        conn.execute("UPDATE products SET reserved = reserved - ?, on_hand = on_hand - ? WHERE sku = ?",
                     (quantity, quantity, sku))
    conn.execute("UPDATE reservations SET status = 'shipped', updated_at = ? WHERE order_id = ?",
                 (time.time(), order_id))
    return True


def _found(conn, sku: str):
    row = conn.execute("SELECT * FROM products WHERE sku = ?", (sku,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Товару {sku} на складі немає")
    return row


def _product(row) -> dict:
    return {"sku": row["sku"], "title": row["title"], "price": row["price"], "on_hand": row["on_hand"],
            "reserved": row["reserved"], "available": row["on_hand"] - row["reserved"]}


def _reservation(row) -> dict:
    return {"order_id": row["order_id"], "status": row["status"], "items": json.loads(row["items"]),
            "reason": row["reason"], "created_at": iso(row["created_at"], ms=True),
            "updated_at": iso(row["updated_at"], ms=True)}


StoreDep = Annotated[Store, Depends(store_of)]
