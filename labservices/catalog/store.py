"""Catalog's own database: products with their stock, and reservations that hold stock for an order.

``stock`` is what can still be reserved. A reservation takes its quantity off ``stock`` at once
(``held``); it is ``released`` (the quantity goes back) when the order is cancelled or a saga
compensates, or ``committed`` when the parcel leaves. A reservation is made once per key: the
``Idempotency-Key`` the client sent, else its order and product; asking again returns the first.
"""
from __future__ import annotations

import secrets
import sqlite3
import time
from typing import Any

from labservices.common import ApiError, Database, where_clause
from labservices.common.catalog import PRODUCTS
from labservices.common.clock import iso

CATEGORIES = {"EL": "electronics", "BK": "books", "HM": "home"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price INTEGER NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    product_id TEXT NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    order_id TEXT,
    status TEXT NOT NULL,
    served_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_order ON reservations (order_id);
"""


def category_of(product_id: str) -> str:
    return CATEGORIES.get(product_id.split("-")[0], "accessories")


def seed(conn: sqlite3.Connection) -> None:
    conn.executemany("INSERT INTO products (id, name, category, price, stock) VALUES (?, ?, ?, ?, ?)",
                     [(sku, title, category_of(sku), price, stock) for sku, title, price, stock in PRODUCTS])


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA, seed=seed)
        if self.db.is_empty("products"):
            with self.db.tx() as conn:
                seed(conn)

    def reset(self) -> None:
        self.db.reset()

    # --- products ---------------------------------------------------------------------------------

    def products(self, category: str | None, offset: int, limit: int) -> tuple[list[dict], int]:
        where, args = ("WHERE category = ?", [category]) if category else ("", [])
        with self.db.tx() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM products {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM products {where} ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset])
            return [_product(conn, r) for r in rows], total

    def product(self, product_id: str) -> dict:
        with self.db.tx() as conn:
            return _product(conn, _found(conn, product_id))

    def set_stock(self, product_id: str, stock: int) -> dict:
        with self.db.tx() as conn:
            _found(conn, product_id)
            conn.execute("UPDATE products SET stock = ? WHERE id = ?", (stock, product_id))
            return _product(conn, _found(conn, product_id))

    # --- reservations -----------------------------------------------------------------------------

    def reserve(self, product_id: str, quantity: int, order_id: str | None, key: str | None,
                served_by: str) -> tuple[dict, bool]:
        """Hold ``quantity`` of a product; (reservation, replayed). 409 when there is not enough."""
        key = key or (f"{order_id}:{product_id}" if order_id else None) or "rsv:" + secrets.token_hex(8)
        with self.db.tx() as conn:
            return reserve(conn, product_id, quantity, order_id, key, served_by)

    def release(self, reservation_id: str) -> dict:
        with self.db.tx() as conn:
            row = _found_reservation(conn, reservation_id)
            if row["status"] == "committed":
                raise ApiError(409, "RESERVATION_COMMITTED",
                               "Товар уже відвантажено: резерв не можна зняти, лише оформити повернення")
            release(conn, row)
            return _reservation(_found_reservation(conn, reservation_id))

    def commit(self, reservation_id: str) -> dict:
        with self.db.tx() as conn:
            row = _found_reservation(conn, reservation_id)
            if row["status"] == "released":
                raise ApiError(409, "RESERVATION_RELEASED", "Резерв уже знято: товар повернувся на склад")
            conn.execute("UPDATE reservations SET status = 'committed', updated_at = ? WHERE id = ? AND status = 'held'",
                         (time.time(), reservation_id))
            return _reservation(_found_reservation(conn, reservation_id))

    def reservation(self, reservation_id: str) -> dict:
        with self.db.tx() as conn:
            return _reservation(_found_reservation(conn, reservation_id))

    def reservations(self, order_id: str | None, status: str | None, limit: int) -> list[dict]:
        where, args = where_clause([("order_id = ?", order_id), ("status = ?", status)])
        with self.db.tx() as conn:
            rows = conn.execute(f"SELECT * FROM reservations {where} ORDER BY created_at DESC, id LIMIT ?",
                                [*args, limit])
            return [_reservation(r) for r in rows]


# --- inside a transaction (the HTTP routes and the bus handlers share these) -----------------------

def reserve(conn: sqlite3.Connection, product_id: str, quantity: int, order_id: str | None, key: str,
            served_by: str) -> tuple[dict, bool]:
    known = conn.execute("SELECT * FROM reservations WHERE key = ?", (key,)).fetchone()
    if known is not None:
        if (known["product_id"], known["quantity"], known["order_id"]) != (product_id, quantity, order_id):
            raise ApiError(422, "IDEMPOTENCY_KEY_REUSED",
                           "Цей ключ уже використано для іншого резерву; потрібен новий Idempotency-Key",
                           [{"field": "Idempotency-Key", "message": "Тіло запиту відрізняється від першого"}])
        return _reservation(known), True
    product = _found(conn, product_id)
    if product["stock"] < quantity:
        raise ApiError(409, "INSUFFICIENT_STOCK", f"Недостатньо товару {product_id}: є {product['stock']}, "
                       f"потрібно {quantity}", [{"field": "quantity", "message": f"Доступно {product['stock']}"}])
    now = time.time()
    reservation_id = "rsv_" + secrets.token_hex(8)
    conn.execute("UPDATE products SET stock = stock - ? WHERE id = ?", (quantity, product_id))
    conn.execute("INSERT INTO reservations (id, key, product_id, quantity, order_id, status, served_by, created_at,"
                 " updated_at) VALUES (?, ?, ?, ?, ?, 'held', ?, ?, ?)",
                 (reservation_id, key, product_id, quantity, order_id, served_by, now, now))
    return _reservation(_found_reservation(conn, reservation_id)), False


def release(conn: sqlite3.Connection, row: sqlite3.Row) -> bool:
    """Put a held reservation's quantity back; True if it was held (releasing twice changes nothing)."""
    if row["status"] != "held":
        return False
    conn.execute("UPDATE products SET stock = stock + ? WHERE id = ?", (row["quantity"], row["product_id"]))
    conn.execute("UPDATE reservations SET status = 'released', updated_at = ? WHERE id = ?", (time.time(), row["id"]))
    return True


def held_for(conn: sqlite3.Connection, order_id: str) -> list[sqlite3.Row]:
    return list(conn.execute("SELECT * FROM reservations WHERE order_id = ? AND status = 'held'", (order_id,)))


def commit(conn: sqlite3.Connection, order_id: str) -> None:
    conn.execute("UPDATE reservations SET status = 'committed', updated_at = ? WHERE order_id = ? AND status = 'held'",
                 (time.time(), order_id))


def _found(conn: sqlite3.Connection, product_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Товар {product_id} не знайдено")
    return row


def _found_reservation(conn: sqlite3.Connection, reservation_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM reservations WHERE id = ?", (reservation_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Резерв {reservation_id} не знайдено")
    return row


def _product(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    reserved = conn.execute("SELECT COALESCE(SUM(quantity), 0) FROM reservations WHERE product_id = ? AND "
                            "status = 'held'", (row["id"],)).fetchone()[0]
    return {"id": row["id"], "name": row["name"], "category": row["category"], "price": row["price"],
            "currency": "UAH", "stock": row["stock"], "reserved": reserved}


def _reservation(row: sqlite3.Row) -> dict[str, Any]:
    return {"reservation_id": row["id"], "product_id": row["product_id"], "quantity": row["quantity"],
            "order_id": row["order_id"], "status": row["status"], "served_by": row["served_by"],
            "created_at": iso(row["created_at"], ms=True), "updated_at": iso(row["updated_at"], ms=True)}
