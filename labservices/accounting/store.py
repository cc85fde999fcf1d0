"""Accounting's own SQLite database: invoices and payment records, in kopiykas (as payments counts money).

An invoice and its payments meet by the order id. Reconciliation compares, per order, what was
invoiced with what was paid (payments minus refunds) and names every mismatch.
"""
from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Depends

from labservices.common import ApiError, Database
from labservices.common.clock import iso
from labservices.common.deps import store_of
from labservices.common.payments_webhooks import reset_keeping_endpoint

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL UNIQUE, customer TEXT NOT NULL DEFAULT '',
    amount INTEGER NOT NULL, currency TEXT NOT NULL, source TEXT NOT NULL, external_id TEXT,
    day TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, external_id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL, kind TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL,
    day TEXT NOT NULL, received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_order ON payments(order_id);
"""

KINDS = ("matched", "unpaid", "underpaid", "overpaid", "payment_without_invoice", "currency_mismatch", "refunded")
MESSAGES = {
    "unpaid": "Рахунок не оплачено",
    "underpaid": "Оплачено менше, ніж виставлено",
    "overpaid": "Оплачено більше, ніж виставлено (подвійна оплата?)",
    "payment_without_invoice": "Платіж без рахунку",
    "currency_mismatch": "Валюта платежу не збігається з валютою рахунку",
    "refunded": "Оплату повернуто",
}


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def uah(kopiykas: int) -> float:
    return round(kopiykas / 100, 2)


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        """Forget every invoice and payment, keep the webhook endpoint at payments."""
        reset_keeping_endpoint(self.db)

    def invoices(self, order_id: str | None = None) -> list[dict]:
        with self.db.tx() as conn:
            where, args = ("WHERE order_id = ?", [order_id]) if order_id else ("", [])
            return [_invoice(conn, r) for r in conn.execute(f"SELECT * FROM invoices {where} ORDER BY seq", args)]

    def invoice(self, number: str) -> dict:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM invoices WHERE seq = ?", (_seq(number),)).fetchone()
            if row is None:
                raise ApiError(404, "NOT_FOUND", f"Рахунку {number} немає")
            return _invoice(conn, row)

    def payments(self, order_id: str | None = None) -> list[dict]:
        with self.db.tx() as conn:
            where, args = ("WHERE order_id = ?", [order_id]) if order_id else ("", [])
            return [_payment(r) for r in conn.execute(f"SELECT * FROM payments {where} ORDER BY id", args)]

    def create_invoice(self, order_id: str, amount: int, currency: str, customer: str, source: str,
                       external_id: str | None = None) -> tuple[dict, bool]:
        """Invoice an order (once: the same order again answers its invoice); (invoice, created)."""
        with self.db.tx() as conn:
            return add_invoice(conn, order_id, amount, currency, customer, source, external_id)

    def record_payment(self, source: str, external_id: str, order_id: str, kind: str, amount: int,
                       currency: str) -> tuple[dict, bool]:
        with self.db.tx() as conn:
            return add_payment(conn, source, external_id, order_id, kind, amount, currency)

    def reconcile(self, day: str | None) -> dict:
        """Per order of ``day`` (all days when None): matched, or the kind of mismatch."""
        with self.db.tx() as conn:
            where, args = ("WHERE day = ?", [day]) if day else ("", [])
            invoices = {r["order_id"]: r for r in conn.execute(f"SELECT * FROM invoices {where}", args)}
            paid: dict[str, dict[str, Any]] = {}
            for p in conn.execute(f"SELECT * FROM payments {where} ORDER BY id", args):
                entry = paid.setdefault(p["order_id"], {"net": 0, "currencies": set(), "refunds": 0, "count": 0})
                entry["net"] += p["amount"] if p["kind"] == "payment" else -p["amount"]
                entry["refunds"] += p["kind"] == "refund"
                entry["count"] += p["kind"] == "payment"
                entry["currencies"].add(p["currency"])
            rows = [_line(order_id, invoices.get(order_id), paid.get(order_id))
                    for order_id in sorted(set(invoices) | set(paid))]
        return {"date": day, "orders": len(rows), "matched": [r for r in rows if r["kind"] == "matched"],
                "mismatches": [r for r in rows if r["kind"] != "matched"],
                "totals": {"invoiced": uah(sum(i["amount"] for i in invoices.values())),
                           "paid": uah(sum(p["net"] for p in paid.values()))}}

    def daily_csv(self, day: str) -> str:
        """The day's reconciliation as CSV: one row per order."""
        report = self.reconcile(day)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["date", "order_id", "invoice", "customer", "invoiced_uah", "paid_uah", "difference_uah",
                         "payments", "status", "note"])
        for row in sorted(report["matched"] + report["mismatches"], key=lambda r: r["order_id"]):
            writer.writerow([day, row["order_id"], row["invoice"] or "", row["customer"], row["invoiced"], row["paid"],
                             round(row["paid"] - row["invoiced"], 2), row["payments"], row["kind"], row["message"]])
        return out.getvalue()


def add_invoice(conn, order_id: str, amount: int, currency: str, customer: str, source: str,
                external_id: str | None) -> tuple[dict, bool]:
    row = conn.execute("SELECT * FROM invoices WHERE order_id = ?", (order_id,)).fetchone()
    if row is not None:
        return _invoice(conn, row), False
    cur = conn.execute("INSERT INTO invoices (order_id, customer, amount, currency, source, external_id, day, created_at)"
                       " VALUES (?,?,?,?,?,?,?,?)", (order_id, customer, amount, currency.upper(), source, external_id,
                                                     today(), time.time()))
    return _invoice(conn, conn.execute("SELECT * FROM invoices WHERE seq = ?", (cur.lastrowid,)).fetchone()), True


def add_payment(conn, source: str, external_id: str, order_id: str, kind: str, amount: int,
                currency: str) -> tuple[dict, bool]:
    """Record a payment or refund once per external id; (record, created)."""
    row = conn.execute("SELECT * FROM payments WHERE external_id = ?", (external_id,)).fetchone()
    if row is not None:
        return _payment(row), False
    cur = conn.execute("INSERT INTO payments (source, external_id, order_id, kind, amount, currency, day, received_at)"
                       " VALUES (?,?,?,?,?,?,?,?)", (source, external_id, order_id, kind, amount, currency.upper(),
                                                     today(), time.time()))
    return _payment(conn.execute("SELECT * FROM payments WHERE id = ?", (cur.lastrowid,)).fetchone()), True


def _line(order_id: str, invoice, paid: dict | None) -> dict:
    net = paid["net"] if paid else 0
    invoiced = invoice["amount"] if invoice else 0
    if invoice is None:
        kind = "payment_without_invoice"
    elif paid and paid["currencies"] - {invoice["currency"]}:
        kind = "currency_mismatch"
    elif net == invoiced:
        kind = "matched"
    elif paid and paid["refunds"] and net <= 0:
        kind = "refunded"
    elif net == 0:
        kind = "unpaid"
    else:
        kind = "underpaid" if net < invoiced else "overpaid"
    return {"order_id": order_id, "invoice": _number(invoice["seq"]) if invoice else None,
            "customer": invoice["customer"] if invoice else "", "invoiced": uah(invoiced), "paid": uah(net),
            "payments": paid["count"] if paid else 0, "kind": kind, "message": MESSAGES.get(kind, "Збігається")}


def _number(seq: int) -> str:
    return f"INV-{seq:05d}"


def _seq(number: str) -> int:
    try:
        return int(number.removeprefix("INV-"))
    except ValueError:
        return -1


def _invoice(conn, row) -> dict:
    net = conn.execute("SELECT COALESCE(SUM(CASE kind WHEN 'payment' THEN amount ELSE -amount END), 0) FROM payments "
                       "WHERE order_id = ?", (row["order_id"],)).fetchone()[0]
    status = "paid" if net == row["amount"] else "open" if net == 0 else "partially_paid" if net < row["amount"] \
        else "overpaid"
    return {"number": _number(row["seq"]), "order_id": row["order_id"], "customer": row["customer"],
            "amount": uah(row["amount"]), "currency": row["currency"], "paid": uah(net), "status": status,
            "source": row["source"], "external_id": row["external_id"], "date": row["day"],
            "created_at": iso(row["created_at"])}


def _payment(row) -> dict:
    return {"id": row["id"], "source": row["source"], "external_id": row["external_id"], "order_id": row["order_id"],
            "kind": row["kind"], "amount": uah(row["amount"]), "currency": row["currency"], "date": row["day"],
            "received_at": iso(row["received_at"], ms=True)}


StoreDep = Annotated[Store, Depends(store_of)]
