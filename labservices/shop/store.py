"""The shop's own SQLite database: schema, seed and every query the routes need.

Rows come back as plain dicts; the routes turn them into the versioned public
models. Writes that must see the current row (If-Match, uniqueness, idempotency)
check and write inside one transaction, so two requests cannot interleave.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Callable

from fastapi import Depends

from labservices.common import ApiError, Database
from labservices.common import idempotency as idempotency_mod
from labservices.common import where_clause
from labservices.common.clock import now_iso
from labservices.common.deps import store_of
from labservices.common.idempotency import Idempotency

from . import seed
from .models import OrderPublic

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    date_of_birth TEXT,
    city TEXT,
    roles TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    password_hash TEXT,
    created_at TEXT NOT NULL,
    last_login TEXT
);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL,
    in_stock INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    city TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders(customer_id, id);
CREATE INDEX IF NOT EXISTS orders_by_created ON orders(created_at);
-- Items keep the product's title and price as they were when ordered.
CREATE TABLE IF NOT EXISTS order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    title TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    PRIMARY KEY (order_id, line)
);
""" + idempotency_mod.SCHEMA

# Which status an order may move to from each status.
TRANSITIONS: dict[str, set[str]] = {
    "pending": {"paid", "cancelled"},
    "paid": {"shipped", "cancelled"},
    "shipped": set(),
    "cancelled": set(),
}

Check = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Created:
    """A POST's outcome; ``replayed`` when it is the stored answer to an earlier request."""

    status: int
    body: dict[str, Any]
    location: str
    replayed: bool = False


class Store:
    def __init__(self, path: Path | str) -> None:
        self.db = Database(path, SCHEMA, seed=seed.seed)
        with self.db.tx() as conn:
            # SQLite's own lower() knows only ASCII; titles are Ukrainian.
            conn.create_function("unicode_lower", 1, lambda s: s.lower() if isinstance(s, str) else s,
                                 deterministic=True)
            if conn.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 0:
                seed.seed(conn)

    def reset(self) -> None:
        self.db.reset()

    # --- users ----------------------------------------------------------------------

    def list_users(self, role: str | None, active: bool | None, offset: int, limit: int) -> tuple[list[dict], int]:
        where, args = where_clause([("EXISTS (SELECT 1 FROM json_each(roles) WHERE value = ?)", role),
                              ("active = ?", None if active is None else int(active))])
        return self._page("users", where, args, "id", offset, limit, _user)

    def get_user(self, user_id: int) -> dict | None:
        with self.db.tx() as conn:
            return _one(conn, "SELECT * FROM users WHERE id = ?", user_id, _user)

    def user_by_username(self, username: str) -> dict | None:
        with self.db.tx() as conn:
            return _one(conn, "SELECT * FROM users WHERE username = ?", username, _user)

    def create_user(self, fields: dict[str, Any]) -> dict:
        with self.db.tx() as conn:
            _unique(conn, "users", {"username": fields["username"], "email": fields["email"]})
            row = {**fields, "roles": json.dumps(fields["roles"]), "created_at": now_iso()}
            cur = conn.execute(
                f"INSERT INTO users ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", _sql(row))
            return _one(conn, "SELECT * FROM users WHERE id = ?", cur.lastrowid, _user)

    def write_user(self, user_id: int, changes: dict[str, Any], check: Check) -> dict:
        """Apply ``changes`` to user ``user_id`` after ``check`` (the If-Match test) passes."""
        with self.db.tx() as conn:
            current = _one(conn, "SELECT * FROM users WHERE id = ?", user_id, _user)
            if current is None:
                raise ApiError(404, "NOT_FOUND", f"Користувача {user_id} не знайдено")
            check(current)
            unique = {k: changes[k] for k in ("username", "email") if k in changes}
            _unique(conn, "users", unique, exclude_id=user_id)
            if "roles" in changes:
                changes = {**changes, "roles": json.dumps(changes["roles"])}
            _update(conn, "users", user_id, changes)
            return _one(conn, "SELECT * FROM users WHERE id = ?", user_id, _user)

    def delete_user(self, user_id: int) -> bool:
        with self.db.tx() as conn:
            return conn.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount > 0

    # --- products -------------------------------------------------------------------

    def list_products(self, *, category: str | None, price_min: float | None, price_max: float | None,
                      in_stock: bool | None, q: str | None, sort: str, offset: int, limit: int) -> tuple[list[dict], int]:
        where, args = where_clause([
            ("category = ?", category), ("price >= ?", price_min), ("price <= ?", price_max),
            ("in_stock = ?", None if in_stock is None else int(in_stock)),
            ("instr(unicode_lower(title), unicode_lower(?)) > 0", q),
        ])
        order = {"price_asc": "price, id", "price_desc": "price DESC, id", "title": "title, id", "id": "id"}[sort]
        return self._page("products", where, args, order, offset, limit, _product)

    def get_product(self, product_id: int) -> dict | None:
        with self.db.tx() as conn:
            return _one(conn, "SELECT * FROM products WHERE id = ?", product_id, _product)

    def create_product(self, fields: dict[str, Any]) -> dict:
        with self.db.tx() as conn:
            if fields.get("sku"):
                _unique(conn, "products", {"sku": fields["sku"]})
            placeholder = {**fields, "sku": fields.get("sku") or f"NEW-{time.time_ns()}"}
            cur = conn.execute(
                f"INSERT INTO products ({', '.join(placeholder)}) VALUES ({', '.join('?' * len(placeholder))})",
                _sql(placeholder))
            if not fields.get("sku"):
                sku, n = f"P-{cur.lastrowid}", 1
                while conn.execute("SELECT 1 FROM products WHERE sku = ?", (sku,)).fetchone():
                    sku, n = f"P-{cur.lastrowid}-{n}", n + 1  # a client already chose that SKU
                conn.execute("UPDATE products SET sku = ? WHERE id = ?", (sku, cur.lastrowid))
            return _one(conn, "SELECT * FROM products WHERE id = ?", cur.lastrowid, _product)

    def write_product(self, product_id: int, changes: dict[str, Any], check: Check) -> dict:
        with self.db.tx() as conn:
            current = _one(conn, "SELECT * FROM products WHERE id = ?", product_id, _product)
            if current is None:
                raise ApiError(404, "NOT_FOUND", f"Товар {product_id} не знайдено")
            check(current)
            if changes.get("sku"):
                _unique(conn, "products", {"sku": changes["sku"]}, exclude_id=product_id)
            _update(conn, "products", product_id, changes)
            return _one(conn, "SELECT * FROM products WHERE id = ?", product_id, _product)

    def delete_product(self, product_id: int) -> bool:
        with self.db.tx() as conn:
            return conn.execute("DELETE FROM products WHERE id = ?", (product_id,)).rowcount > 0

    # --- customers ------------------------------------------------------------------

    def list_customers(self, city: str | None, offset: int, limit: int) -> tuple[list[dict], int]:
        where, args = where_clause([("city = ?", city)])
        return self._page("customers", where, args, "id", offset, limit, dict)

    def get_customer(self, customer_id: int) -> dict | None:
        with self.db.tx() as conn:
            return _one(conn, "SELECT * FROM customers WHERE id = ?", customer_id, dict)

    # --- orders ---------------------------------------------------------------------

    def list_orders(self, *, status: str | None, created_after: date | None, created_before: date | None,
                    customer_id: int | None, offset: int, limit: int) -> tuple[list[dict], int]:
        where, args = where_clause([
            ("status = ?", status), ("customer_id = ?", customer_id),
            ("created_at >= ?", created_after and created_after.isoformat()),
            ("created_at < ?", created_before and created_before.isoformat()),
        ])
        with self.db.tx() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM orders {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM orders {where} ORDER BY created_at, id LIMIT ? OFFSET ?",
                                [*args, limit, offset]).fetchall()
            return _with_items(conn, rows), total

    def get_order(self, order_id: int, customer_id: int | None = None) -> dict | None:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None or (customer_id is not None and row["customer_id"] != customer_id):
                return None
            return _with_items(conn, [row])[0]

    def create_order(self, customer_id: int, items: list[tuple[int | str, int]], *, customer_field: str | None,
                     idempotency: Idempotency | None, location_of: Callable[[int], str]) -> Created:
        """Create an order, or replay the answer stored under the same Idempotency-Key.

        ``customer_field`` names the body field of the customer (its absence is then a 400),
        or is None when the customer comes from the URL (a 404).
        """
        with self.db.tx() as conn:
            if idempotency is not None and (saved := idempotency_mod.replay(conn, idempotency)) is not None:
                return Created(saved.status, saved.body, saved.location or "", replayed=True)
            if _one(conn, "SELECT id FROM customers WHERE id = ?", customer_id, dict) is None:
                if customer_field is None:
                    raise ApiError(404, "NOT_FOUND", f"Клієнта {customer_id} не знайдено")
                raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту",
                               [{"field": customer_field, "message": f"Клієнта {customer_id} не знайдено", "type": "not_found"}])
            lines = _order_lines(conn, items)
            stamp = now_iso()
            order_id = conn.execute(
                "INSERT INTO orders (customer_id, status, created_at, updated_at) VALUES (?, 'pending', ?, ?)",
                (customer_id, stamp, stamp)).lastrowid
            conn.executemany(
                "INSERT INTO order_items (order_id, line, product_id, sku, title, quantity, unit_price)"
                " VALUES (?,?,?,?,?,?,?)", [(order_id, n, *line) for n, line in enumerate(lines, start=1)])
            row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            body = OrderPublic(**_with_items(conn, [row])[0]).model_dump(mode="json")
            created = Created(201, body, location_of(order_id))
            if idempotency is not None:
                idempotency_mod.remember(conn, idempotency, created.status, created.body, created.location)
            return created

    def set_order_status(self, order_id: int, status: str) -> dict:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None:
                raise ApiError(404, "NOT_FOUND", f"Замовлення {order_id} не знайдено")
            if status != row["status"]:
                if status not in TRANSITIONS[row["status"]]:
                    allowed = ", ".join(sorted(TRANSITIONS[row["status"]])) or "жодного"
                    raise ApiError(409, "INVALID_STATUS_TRANSITION",
                                   f"Замовлення у стані {row['status']} не можна перевести в {status}",
                                   [{"field": "status", "message": f"Дозволені переходи з {row['status']}: {allowed}"}])
                conn.execute("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", (status, now_iso(), order_id))
                row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            return _with_items(conn, [row])[0]

    def delete_order(self, order_id: int) -> bool:
        with self.db.tx() as conn:
            return conn.execute("DELETE FROM orders WHERE id = ?", (order_id,)).rowcount > 0

    # --- shared ---------------------------------------------------------------------

    def _page(self, table: str, where: str, args: list, order: str, offset: int, limit: int,
              convert: Callable[[sqlite3.Row], dict]) -> tuple[list[dict], int]:
        with self.db.tx() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM {table} {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM {table} {where} ORDER BY {order} LIMIT ? OFFSET ?",
                                [*args, limit, offset]).fetchall()
            return [convert(r) for r in rows], total


StoreDep = Annotated[Store, Depends(store_of)]


# --- helpers ----------------------------------------------------------------------------


def _sql(row: dict[str, Any]) -> list:
    return [v.isoformat() if isinstance(v, date) else int(v) if isinstance(v, bool) else v for v in row.values()]


def _update(conn: sqlite3.Connection, table: str, row_id: int, changes: dict[str, Any]) -> None:
    if changes:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", [*_sql(changes), row_id])


def _one(conn: sqlite3.Connection, sql: str, arg: Any, convert: Callable[[sqlite3.Row], dict]) -> dict | None:
    row = conn.execute(sql, (arg,)).fetchone()
    return None if row is None else convert(row)


def _unique(conn: sqlite3.Connection, table: str, values: dict[str, Any], exclude_id: int | None = None) -> None:
    """Raise 409 CONFLICT naming every field whose value another row already has."""
    details = []
    for column, value in values.items():
        row = conn.execute(f"SELECT id FROM {table} WHERE {column} = ? AND id IS NOT ?", (value, exclude_id)).fetchone()
        if row is not None:
            details.append({"field": column, "message": f"Значення {value!r} вже використовує запис {row['id']}"})
    if details:
        raise ApiError(409, "CONFLICT", "Такий ресурс вже існує", details)


def _user(row: sqlite3.Row) -> dict:
    user = dict(row)
    user["roles"] = json.loads(user["roles"])
    user["active"] = bool(user["active"])
    return user


def _product(row: sqlite3.Row) -> dict:
    product = dict(row)
    product["in_stock"] = bool(product["in_stock"])
    return product


def _with_items(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[dict]:
    """Orders as public dicts, each with its items and total."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    items: dict[int, list[dict]] = {i: [] for i in ids}
    marks = ", ".join("?" * len(ids))
    for item in conn.execute(f"SELECT * FROM order_items WHERE order_id IN ({marks}) ORDER BY order_id, line", ids):
        items[item["order_id"]].append({
            "product_id": item["product_id"], "sku": item["sku"], "title": item["title"],
            "quantity": item["quantity"], "unit_price": item["unit_price"],
            "line_total": round(item["quantity"] * item["unit_price"], 2),
        })
    return [{**dict(r), "items": items[r["id"]], "currency": "UAH",
             "total": round(sum(i["line_total"] for i in items[r["id"]]), 2)} for r in rows]


def _order_lines(conn: sqlite3.Connection, items: list[tuple[int | str, int]]) -> list[tuple]:
    """(product_id, sku, title, quantity, unit_price) per item; 400 for unknown products, 409 if out of stock."""
    lines, unknown, missing_stock = [], [], []
    for n, (ref, quantity) in enumerate(items):
        column = "id" if isinstance(ref, int) else "sku"
        product = conn.execute(f"SELECT * FROM products WHERE {column} = ?", (ref,)).fetchone()
        field = f"items[{n}].product_id"
        if product is None:
            unknown.append({"field": field, "message": f"Товар {ref!r} не знайдено", "type": "not_found"})
        elif not product["in_stock"]:
            missing_stock.append({"field": field, "message": f"Товару {product['sku']!r} немає в наявності"})
        else:
            lines.append((product["id"], product["sku"], product["title"], quantity, product["price"]))
    if unknown:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту", unknown)
    if missing_stock:
        raise ApiError(409, "OUT_OF_STOCK", "Деяких товарів немає в наявності", missing_stock)
    return lines
