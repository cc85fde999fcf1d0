"""The warehouse's own SQLite database: stock per SKU, reservations per order, and what the shop must be told.

Every change of a SKU's availability (in stock or not) writes the new state to ``shop_sync`` in the
same transaction as the change: the worker in ``sync.py`` pushes it to the shop, as an outbox would.
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
CREATE TABLE IF NOT EXISTS stock (
    sku TEXT PRIMARY KEY, title TEXT NOT NULL,
    on_hand INTEGER NOT NULL CHECK (on_hand >= 0), reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);
CREATE TABLE IF NOT EXISTS reservations (
    order_id TEXT PRIMARY KEY, status TEXT NOT NULL, items TEXT NOT NULL, waybill TEXT, estimated_delivery TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS shop_sync (
    sku TEXT PRIMARY KEY, in_stock INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    shop_product_id INTEGER, last_error TEXT, next_at REAL NOT NULL, updated_at REAL NOT NULL
);
"""


def seed(conn) -> None:
    conn.executemany("INSERT INTO stock (sku, title, on_hand) VALUES (?,?,?)",
                     [(sku, title, stock) for sku, title, _, stock in PRODUCTS])


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA, seed=seed)
        if self.db.is_empty("stock"):
            self.db.reset()

    def reset(self) -> None:
        self.db.reset()

    def stock(self) -> list[dict]:
        with self.db.tx() as conn:
            return [_stock(r) for r in conn.execute("SELECT * FROM stock ORDER BY sku")]

    def item(self, sku: str) -> dict:
        with self.db.tx() as conn:
            return _stock(_found_sku(conn, sku))

    def set_on_hand(self, sku: str, on_hand: int) -> dict:
        with self.db.tx() as conn:
            row = _found_sku(conn, sku)
            if on_hand < row["reserved"]:
                raise ApiError(409, "STOCK_BELOW_RESERVED", f"Не може бути менше, ніж зарезервовано ({row['reserved']})",
                               [{"field": "on_hand", "message": f"Щонайменше {row['reserved']}"}])
            return _changed(conn, [sku], lambda: conn.execute("UPDATE stock SET on_hand = ? WHERE sku = ?",
                                                              (on_hand, sku)))[0]

    # --- reservations ---------------------------------------------------------------------------

    def reserve(self, order_id: str, items: list[dict[str, Any]]) -> tuple[dict, bool]:
        """Reserve every line or none; (reservation, created). The same order again is the same reservation."""
        wanted: dict[str, int] = {}
        for line in items:
            wanted[line["sku"]] = wanted.get(line["sku"], 0) + line["quantity"]
        with self.db.tx() as conn:
            existing = _reservation_row(conn, order_id)
            if existing is not None:
                if json.loads(existing["items"]) != wanted:
                    raise ApiError(409, "RESERVATION_CONFLICT", f"Замовлення {order_id} вже має інший резерв",
                                   [{"field": "items", "message": f"Зарезервовано: {existing['items']}"}])
                return _reservation(existing), False
            missing = []
            for sku, quantity in wanted.items():
                row = conn.execute("SELECT on_hand - reserved FROM stock WHERE sku = ?", (sku,)).fetchone()
                available = row[0] if row else 0
                if available < quantity:
                    missing.append({"field": f"items.{sku}", "message": f"Є {available}, потрібно {quantity}"})
            if missing:
                raise ApiError(409, "INSUFFICIENT_STOCK", "Недостатньо товару на складі", missing)

            def hold() -> None:
                for sku, quantity in wanted.items():
                    conn.execute("UPDATE stock SET reserved = reserved + ? WHERE sku = ?", (quantity, sku))
                now = time.time()
                conn.execute("INSERT INTO reservations (order_id, status, items, created_at, updated_at) VALUES "
                             "(?, 'reserved', ?, ?, ?)", (order_id, json.dumps(wanted), now, now))
            _changed(conn, list(wanted), hold)
            return _reservation(_reservation_row(conn, order_id)), True

    def reservation(self, order_id: str) -> dict:
        with self.db.tx() as conn:
            return _reservation(_found_reservation(conn, order_id))

    def release(self, order_id: str) -> dict:
        with self.db.tx() as conn:
            row = _found_reservation(conn, order_id)
            if row["status"] == "shipped":
                raise ApiError(409, "ALREADY_SHIPPED", f"Замовлення {order_id} вже відвантажено: {row['waybill']}")
            if row["status"] == "reserved":
                items = json.loads(row["items"])

                def give_back() -> None:
                    for sku, quantity in items.items():
                        conn.execute("UPDATE stock SET reserved = reserved - ? WHERE sku = ?", (quantity, sku))
                    _set_status(conn, order_id, "released")
                _changed(conn, list(items), give_back)
            return _reservation(_reservation_row(conn, order_id))

    def to_ship(self, order_id: str) -> dict:
        """The reservation about to ship (409 unless it is reserved or already shipped)."""
        with self.db.tx() as conn:
            row = _found_reservation(conn, order_id)
            if row["status"] == "released":
                raise ApiError(409, "RESERVATION_RELEASED", f"Резерв замовлення {order_id} скасовано")
            return _reservation(row)

    def shipped(self, order_id: str, waybill: str, estimated: str | None) -> dict:
        """The parcel left: its stock is gone for good, the waybill is kept (once)."""
        with self.db.tx() as conn:
            row = _found_reservation(conn, order_id)
            if row["status"] == "reserved":
                items = json.loads(row["items"])

                def leave() -> None:
                    for sku, quantity in items.items():
                        conn.execute("UPDATE stock SET reserved = reserved - ?, on_hand = on_hand - ? WHERE sku = ?",
                                     (quantity, quantity, sku))
                    conn.execute("UPDATE reservations SET status = 'shipped', waybill = ?, estimated_delivery = ?, "
                                 "updated_at = ? WHERE order_id = ?", (waybill, estimated, time.time(), order_id))
                _changed(conn, list(items), leave)
            return _reservation(_reservation_row(conn, order_id))

    # --- what the shop must hear --------------------------------------------------------------

    def sync_rows(self) -> list[dict]:
        with self.db.tx() as conn:
            return [_sync(r) for r in conn.execute("SELECT * FROM shop_sync ORDER BY updated_at DESC")]

    def resync_all(self) -> int:
        """Mark every SKU to be pushed again (a full sync, as after the shop's catalogue was reset)."""
        with self.db.tx() as conn:
            skus = [r[0] for r in conn.execute("SELECT sku FROM stock")]
            for sku in skus:
                _want(conn, sku)
            return len(skus)

    def due(self) -> list[dict]:
        with self.db.tx() as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM shop_sync WHERE status = 'pending' AND next_at <= ? "
                                                  "ORDER BY next_at LIMIT 20", (time.time(),))]

    def synced(self, sku: str, in_stock: bool, status: str, product_id: int | None, error: str | None,
               retry_s: float) -> None:
        """Record one push; a newer change written meanwhile stays pending."""
        with self.db.tx() as conn:
            now = time.time()
            next_at = now + retry_s if status == "pending" else now
            conn.execute("UPDATE shop_sync SET status = ?, attempts = attempts + 1, shop_product_id = ?, last_error = ?,"
                         " next_at = ?, updated_at = ? WHERE sku = ? AND in_stock = ?",
                         (status, product_id, error, next_at, now, sku, int(in_stock)))


def _changed(conn, skus: list[str], change) -> list[dict]:
    """Run ``change`` and queue a push to the shop for every SKU whose availability flipped."""
    before = {sku: _available(conn, sku) > 0 for sku in skus}
    change()
    after = []
    for sku in skus:
        if (_available(conn, sku) > 0) != before[sku]:
            _want(conn, sku)
        after.append(_stock(_found_sku(conn, sku)))
    return after


def _want(conn, sku: str) -> None:
    now = time.time()
    conn.execute("INSERT INTO shop_sync (sku, in_stock, status, next_at, updated_at) VALUES (?,?, 'pending', ?, ?) "
                 "ON CONFLICT(sku) DO UPDATE SET in_stock = excluded.in_stock, status = 'pending', attempts = 0, "
                 "last_error = NULL, next_at = excluded.next_at, updated_at = excluded.updated_at",
                 (sku, int(_available(conn, sku) > 0), now, now))


def _available(conn, sku: str) -> int:
    row = conn.execute("SELECT on_hand - reserved FROM stock WHERE sku = ?", (sku,)).fetchone()
    return row[0] if row else 0


def _set_status(conn, order_id: str, status: str) -> None:
    conn.execute("UPDATE reservations SET status = ?, updated_at = ? WHERE order_id = ?", (status, time.time(), order_id))


def _found_sku(conn, sku: str):
    row = conn.execute("SELECT * FROM stock WHERE sku = ?", (sku,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Товару {sku} на складі немає")
    return row


def _reservation_row(conn, order_id: str):
    return conn.execute("SELECT * FROM reservations WHERE order_id = ?", (order_id,)).fetchone()


def _found_reservation(conn, order_id: str):
    row = _reservation_row(conn, order_id)
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Резерву для замовлення {order_id} немає")
    return row


def _stock(row) -> dict:
    return {"sku": row["sku"], "title": row["title"], "on_hand": row["on_hand"], "reserved": row["reserved"],
            "available": row["on_hand"] - row["reserved"]}


def _reservation(row) -> dict:
    return {"order_id": row["order_id"], "status": row["status"],
            "items": [{"sku": s, "quantity": q} for s, q in json.loads(row["items"]).items()],
            "waybill": row["waybill"], "estimated_delivery": row["estimated_delivery"],
            "created_at": iso(row["created_at"], ms=True), "updated_at": iso(row["updated_at"], ms=True)}


def _sync(row) -> dict:
    return {"sku": row["sku"], "in_stock": bool(row["in_stock"]), "status": row["status"], "attempts": row["attempts"],
            "shop_product_id": row["shop_product_id"], "last_error": row["last_error"],
            "updated_at": iso(row["updated_at"], ms=True)}


StoreDep = Annotated[Store, Depends(store_of)]
