"""The CRM's own SQLite database: contacts (one per email), deals (one per external id), activities.

Ids look like Salesforce's: 18 characters, the object's prefix first (``003`` a contact, ``006``
a deal, as Salesforce's Contact and Opportunity).
"""
from __future__ import annotations

import hashlib
import json
import secrets
import string
import time
from typing import Annotated, Any

from fastapi import Depends

from labservices.common import ApiError, Database, where_clause
from labservices.common.clock import iso
from labservices.common.deps import store_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    lead_source TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    amount REAL NOT NULL,
    currency TEXT NOT NULL,
    stage TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    external_id TEXT UNIQUE,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    external_id TEXT UNIQUE,
    created_at REAL NOT NULL
);
"""

CONTACT_FIELDS = ("first_name", "last_name", "phone", "city", "lead_source", "tags")
DEAL_FIELDS = ("name", "amount", "currency", "stage", "contact_id")
_ALPHABET = string.ascii_letters + string.digits

# email, first, last, phone, city, lead source, tags: customers the shop's lessons know, and a few leads
SEED_CONTACTS = [
    ("ivan@example.com", "Іван", "Петренко", "+380501112233", "Київ", "Web", ["customer"]),
    ("olena.kovalenko@example.com", "Олена", "Коваленко", "+380671234567", "Львів", "Web", ["customer", "vip"]),
    ("taras.bondarenko@example.com", "Тарас", "Бондаренко", "+380931112244", "Харків", "Partner", ["customer"]),
    ("oksana.melnyk@example.com", "Оксана", "Мельник", "+380661234500", "Одеса", "Event", ["lead"]),
    ("maria.shevchenko@example.com", "Марія", "Шевченко", "+380661234567", "Київ", "Web", ["customer", "vip"]),
    ("andriy.tkachenko@example.com", "Андрій", "Ткаченко", "+380501239876", "Дніпро", "Cold call", ["lead"]),
    ("natalia.kravchenko@example.com", "Наталія", "Кравченко", "+380631112299", "Запоріжжя", "Web", ["lead"]),
    ("dmytro.lysenko@example.com", "Дмитро", "Лисенко", "+380971234321", "Вінниця", "Partner", ["customer"]),
]


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(15))


def _seed_id(prefix: str, key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    return prefix + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:15])


def seed(conn) -> None:
    now = time.time()
    for email, first, last, phone, city, source, tags in SEED_CONTACTS:
        conn.execute("INSERT INTO contacts VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (_seed_id("003", email), email, first, last, phone, city, source, json.dumps(tags), now, now))
    conn.execute("INSERT INTO deals VALUES (?,?,?,?,?,?,?,?,?)",
                 (_seed_id("006", "seed-1"), "Корпоративні ноутбуки", 450000, "UAH", "Negotiation",
                  _seed_id("003", "taras.bondarenko@example.com"), None, now, now))


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA, seed=seed)
        if self.db.is_empty("contacts"):
            self.db.reset()

    def reset(self) -> None:
        self.db.reset()

    def _page(self, table: str, where: str, args: list, offset: int, limit: int, public) -> tuple[list[dict], int]:
        with self.db.tx() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM {table} {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM {table} {where} ORDER BY created_at, id LIMIT ? OFFSET ?",
                                [*args, limit, offset])
            return [public(r) for r in rows], total

    # --- contacts ----------------------------------------------------------------------------

    def contacts(self, email: str | None, q: str | None, tag: str | None, offset: int,
                 limit: int) -> tuple[list[dict], int]:
        where, args = where_clause([
            ("email = ?", email.strip().lower() if email else None),
            ("(first_name || ' ' || last_name || ' ' || email) LIKE ?", f"%{q}%" if q else None),
            ("EXISTS (SELECT 1 FROM json_each(contacts.tags) WHERE value = ?)", tag)])
        return self._page("contacts", where, args, offset, limit, _contact)

    def contact(self, contact_id: str) -> dict:
        with self.db.tx() as conn:
            return _contact(_found(conn, "contacts", contact_id, "Контакт"))

    def create_contact(self, fields: dict[str, Any]) -> dict:
        with self.db.tx() as conn:
            existing = conn.execute("SELECT id FROM contacts WHERE email = ?", (fields["email"],)).fetchone()
            if existing is not None:
                raise ApiError(409, "DUPLICATE_EMAIL", f"Контакт з email {fields['email']} вже є: {existing['id']}",
                               [{"field": "email", "message": "Знайдіть його: GET /api/contacts?email=..., "
                                                             "або оновіть: PUT /api/contacts/by-email/..."}])
            contact_id = new_id("003")
            _insert_contact(conn, contact_id, fields)
            return _contact(_found(conn, "contacts", contact_id, "Контакт"))

    def upsert_contact(self, email: str, fields: dict[str, Any]) -> tuple[dict, bool]:
        """Create or update the contact with this email; (contact, created)."""
        with self.db.tx() as conn:
            row = conn.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchone()
            contact_id, created = _upsert(conn, "contacts", row, {**fields, "email": email})
            return _contact(_found(conn, "contacts", contact_id, "Контакт")), created

    def update_contact(self, contact_id: str, fields: dict[str, Any]) -> dict:
        return self._update_one("contacts", contact_id, fields)

    # --- deals -------------------------------------------------------------------------------

    def deals(self, contact_id: str | None, stage: str | None, external_id: str | None, offset: int,
              limit: int) -> tuple[list[dict], int]:
        where, args = where_clause([("contact_id = ?", contact_id), ("stage = ?", stage),
                                    ("external_id = ?", external_id)])
        return self._page("deals", where, args, offset, limit, _deal)

    def deal(self, deal_id: str) -> dict:
        with self.db.tx() as conn:
            return _deal(_found(conn, "deals", deal_id, "Угоду"))

    def create_deal(self, fields: dict[str, Any]) -> dict:
        with self.db.tx() as conn:
            _contact_exists(conn, fields["contact_id"])
            if fields.get("external_id") and _by_external(conn, fields["external_id"]) is not None:
                raise ApiError(409, "DUPLICATE_EXTERNAL_ID",
                               f"Угода з external_id {fields['external_id']} вже є",
                               [{"field": "external_id", "message": "PUT /api/deals/by-external-id/... оновлює її"}])
            deal_id = new_id("006")
            _insert_deal(conn, deal_id, fields)
            return _deal(_found(conn, "deals", deal_id, "Угоду"))

    def upsert_deal(self, external_id: str, fields: dict[str, Any]) -> tuple[dict, bool]:
        with self.db.tx() as conn:
            _contact_exists(conn, fields["contact_id"])
            deal_id, created = _upsert(conn, "deals", _by_external(conn, external_id),
                                       {**fields, "external_id": external_id})
            return _deal(_found(conn, "deals", deal_id, "Угоду")), created

    def update_deal(self, deal_id: str, fields: dict[str, Any]) -> dict:
        return self._update_one("deals", deal_id, fields)

    def _update_one(self, table: str, row_id: str, fields: dict[str, Any]) -> dict:
        what, public = ("Контакт", _contact) if table == "contacts" else ("Угоду", _deal)
        with self.db.tx() as conn:
            _found(conn, table, row_id, what)
            _update(conn, table, row_id, fields)
            return public(_found(conn, table, row_id, what))

    # --- activities --------------------------------------------------------------------------

    def activities(self, contact_id: str) -> list[dict]:
        with self.db.tx() as conn:
            _found(conn, "contacts", contact_id, "Контакт")
            rows = conn.execute("SELECT * FROM activities WHERE contact_id = ? ORDER BY id", (contact_id,))
            return [_activity(r) for r in rows]

    def add_activity(self, contact_id: str, fields: dict[str, Any]) -> tuple[dict, bool]:
        """Record an activity; one with an external id already recorded is returned as it was (created False)."""
        with self.db.tx() as conn:
            _found(conn, "contacts", contact_id, "Контакт")
            if fields.get("external_id"):
                row = conn.execute("SELECT * FROM activities WHERE external_id = ?", (fields["external_id"],)).fetchone()
                if row is not None:
                    return _activity(row), False
            cur = conn.execute("INSERT INTO activities (contact_id, type, subject, external_id, created_at)"
                               " VALUES (?,?,?,?,?)", (contact_id, fields["type"], fields["subject"],
                                                       fields.get("external_id"), time.time()))
            return _activity(conn.execute("SELECT * FROM activities WHERE id = ?", (cur.lastrowid,)).fetchone()), True


def _upsert(conn, table: str, row, fields: dict[str, Any]) -> tuple[str, bool]:
    """Insert a new row (a fresh id) when ``row`` is None, else update it; (its id, created)."""
    if row is not None:
        _update(conn, table, row["id"], fields)
        return row["id"], False
    row_id = new_id("003" if table == "contacts" else "006")
    (_insert_contact if table == "contacts" else _insert_deal)(conn, row_id, fields)
    return row_id, True


def _insert_contact(conn, contact_id: str, fields: dict[str, Any]) -> None:
    now = time.time()
    conn.execute("INSERT INTO contacts VALUES (?,?,?,?,?,?,?,?,?,?)",
                 (contact_id, fields["email"], fields.get("first_name", ""), fields.get("last_name", ""),
                  fields.get("phone", ""), fields.get("city", ""), fields.get("lead_source", ""),
                  json.dumps(fields.get("tags") or [], ensure_ascii=False), now, now))


def _insert_deal(conn, deal_id: str, fields: dict[str, Any]) -> None:
    now = time.time()
    conn.execute("INSERT INTO deals VALUES (?,?,?,?,?,?,?,?,?)",
                 (deal_id, fields["name"], fields["amount"], fields.get("currency", "UAH"),
                  fields.get("stage", "Prospecting"), fields["contact_id"], fields.get("external_id"), now, now))


def _update(conn, table: str, row_id: str, fields: dict[str, Any]) -> None:
    allowed = CONTACT_FIELDS if table == "contacts" else DEAL_FIELDS
    changes = {k: (json.dumps(v, ensure_ascii=False) if k == "tags" else v)
               for k, v in fields.items() if k in allowed and v is not None}
    if changes:
        sets = ", ".join(f"{k} = ?" for k in changes)
        conn.execute(f"UPDATE {table} SET {sets}, updated_at = ? WHERE id = ?", [*changes.values(), time.time(), row_id])


def _by_external(conn, external_id: str):
    return conn.execute("SELECT * FROM deals WHERE external_id = ?", (external_id,)).fetchone()


def _contact_exists(conn, contact_id: str) -> None:
    if conn.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone() is None:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту",
                       [{"field": "contact_id", "message": f"Контакту {contact_id} немає", "type": "not_found"}])


def _found(conn, table: str, row_id: str, what: str):
    row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"{what} {row_id} не знайдено")
    return row


def _contact(row) -> dict:
    return {**{k: row[k] for k in ("id", "email", "first_name", "last_name", "phone", "city", "lead_source")},
            "tags": json.loads(row["tags"]), "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}


def _deal(row) -> dict:
    return {**{k: row[k] for k in ("id", "name", "amount", "currency", "stage", "contact_id", "external_id")},
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}


def _activity(row) -> dict:
    return {**{k: row[k] for k in ("id", "contact_id", "type", "subject", "external_id")},
            "created_at": iso(row["created_at"], ms=True)}


StoreDep = Annotated[Store, Depends(store_of)]
