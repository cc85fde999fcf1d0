"""The mailer's own SQLite database: audiences, members, segments, campaigns, what was sent and seen, webhooks.

A member is addressed as Mailchimp does, by the MD5 of the lower-cased email (``subscriber_hash``):
an integration computes it from the email alone, without looking the member up first.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Annotated

from fastapi import Depends

from labservices.common import ApiError, Database
from labservices.common.clock import iso
from labservices.common.deps import store_of
from labservices.common.signing import new_secret

SCHEMA = """
CREATE TABLE IF NOT EXISTS lists (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, defaults TEXT NOT NULL, permission_reminder TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    list_id TEXT NOT NULL REFERENCES lists(id), id TEXT NOT NULL, email TEXT NOT NULL, status TEXT NOT NULL,
    merge_fields TEXT NOT NULL, tags TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (list_id, id)
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, list_id TEXT NOT NULL REFERENCES lists(id), name TEXT NOT NULL,
    type TEXT NOT NULL, options TEXT, emails TEXT, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY, list_id TEXT NOT NULL REFERENCES lists(id), segment_id INTEGER, settings TEXT NOT NULL,
    plain_text TEXT NOT NULL DEFAULT '', html TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
    emails_sent INTEGER NOT NULL DEFAULT 0, send_time REAL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sends (
    token TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, list_id TEXT NOT NULL, member_id TEXT NOT NULL,
    email TEXT NOT NULL, sent_at REAL NOT NULL, UNIQUE (campaign_id, member_id)
);
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT, campaign_id TEXT, list_id TEXT NOT NULL, member_id TEXT NOT NULL,
    email TEXT NOT NULL, action TEXT NOT NULL, url TEXT, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, list_id TEXT NOT NULL REFERENCES lists(id), url TEXT NOT NULL, events TEXT NOT NULL,
    secret TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_status INTEGER, last_error TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_at);
"""

SEED_LIST_ID = "a1b2c3d4e5"  # the audience of the notebook: the shop's customers


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased email, in hex."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def seed(conn) -> None:
    conn.execute("INSERT INTO lists VALUES (?,?,?,?,?)", (SEED_LIST_ID, "Клієнти магазину", json.dumps({
        "from_name": "Інтернет-магазин лабораторії", "from_email": "news@integration-lab.local", "subject": "",
        "language": "uk"}, ensure_ascii=False), "Ви купували в нашому магазині", time.time()))


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA, seed=seed)
        if self.db.is_empty("lists"):
            self.db.reset()

    def reset(self) -> None:
        self.db.reset()

    # --- audiences ----------------------------------------------------------------------------

    def lists(self) -> list[dict]:
        with self.db.tx() as conn:
            return [_list(conn, r) for r in conn.execute("SELECT * FROM lists ORDER BY created_at")]

    def get_list(self, list_id: str) -> dict:
        with self.db.tx() as conn:
            return _list(conn, _found_list(conn, list_id))

    def create_list(self, body: dict) -> dict:
        list_id = secrets.token_hex(5)
        with self.db.tx() as conn:
            conn.execute("INSERT INTO lists VALUES (?,?,?,?,?)", (list_id, body["name"], json.dumps(
                body["campaign_defaults"], ensure_ascii=False), body["permission_reminder"], time.time()))
            return _list(conn, _found_list(conn, list_id))

    # --- members ------------------------------------------------------------------------------

    def members(self, list_id: str, status: str | None, count: int, offset: int) -> tuple[list[dict], int]:
        with self.db.tx() as conn:
            _found_list(conn, list_id)
            where, args = ("AND status = ?", [status]) if status else ("", [])
            total = conn.execute(f"SELECT COUNT(*) FROM members WHERE list_id = ? {where}", [list_id, *args]).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM members WHERE list_id = ? {where} ORDER BY created_at, id "
                                "LIMIT ? OFFSET ?", [list_id, *args, count, offset])
            return [_member(conn, r) for r in rows], total

    def member(self, list_id: str, member_id: str) -> dict:
        with self.db.tx() as conn:
            return _member(conn, _found_member(conn, list_id, member_id))

    def add_member(self, list_id: str, body: dict) -> tuple[dict, bool]:
        """Add a member (POST); (member, added). One already there is 409 MEMBER_EXISTS (Mailchimp says 400)."""
        member_id = subscriber_hash(body["email_address"])
        with self.db.tx() as conn:
            _found_list(conn, list_id)
            if _member_row(conn, list_id, member_id) is not None:
                raise ApiError(409, "MEMBER_EXISTS", f"{body['email_address']} вже в аудиторії; PUT "
                               f"/3.0/lists/{list_id}/members/{member_id} додає або оновлює")
            _insert_member(conn, list_id, member_id, body["email_address"], body["status"], body["merge_fields"],
                           body["tags"])
            return _member(conn, _found_member(conn, list_id, member_id)), True

    def upsert_member(self, list_id: str, member_id: str, body: dict) -> tuple[dict, bool]:
        """Add or update (PUT): the path's hash must be the email's; (member, created)."""
        if subscriber_hash(body["email_address"]) != member_id.lower():
            raise ApiError(400, "VALIDATION_ERROR", "subscriber_hash в адресі не збігається з email_address",
                           [{"field": "subscriber_hash", "type": "conflicting_values",
                             "message": "Очікується MD5 від email у нижньому регістрі: "
                             + subscriber_hash(body["email_address"])}])
        member_id = member_id.lower()
        with self.db.tx() as conn:
            _found_list(conn, list_id)
            row = _member_row(conn, list_id, member_id)
            if row is None:
                _insert_member(conn, list_id, member_id, body["email_address"], body.get("status") or
                               body["status_if_new"], body["merge_fields"], body.get("tags") or [])
            else:
                merged = {**json.loads(row["merge_fields"]), **body["merge_fields"]}
                tags = body["tags"] if body.get("tags") is not None else json.loads(row["tags"])
                conn.execute("UPDATE members SET email = ?, status = ?, merge_fields = ?, tags = ?, updated_at = ? "
                             "WHERE list_id = ? AND id = ?", (body["email_address"].strip().lower(),
                                                             body.get("status") or row["status"],
                                                             json.dumps(merged, ensure_ascii=False),
                                                             json.dumps(tags, ensure_ascii=False), time.time(),
                                                             list_id, member_id))
            return _member(conn, _found_member(conn, list_id, member_id)), row is None

    def archive_member(self, list_id: str, member_id: str) -> None:
        with self.db.tx() as conn:
            _found_member(conn, list_id, member_id.lower())
            conn.execute("DELETE FROM members WHERE list_id = ? AND id = ?", (list_id, member_id.lower()))

    def change_tags(self, list_id: str, member_id: str, changes: list[dict]) -> None:
        with self.db.tx() as conn:
            row = _found_member(conn, list_id, member_id.lower())
            tags = json.loads(row["tags"])
            for change in changes:
                if change["status"] == "active" and change["name"] not in tags:
                    tags.append(change["name"])
                elif change["status"] == "inactive" and change["name"] in tags:
                    tags.remove(change["name"])
            conn.execute("UPDATE members SET tags = ?, updated_at = ? WHERE list_id = ? AND id = ?",
                         (json.dumps(tags, ensure_ascii=False), time.time(), list_id, row["id"]))

    def set_status(self, conn, list_id: str, member_id: str, status: str) -> None:
        conn.execute("UPDATE members SET status = ?, updated_at = ? WHERE list_id = ? AND id = ?",
                     (status, time.time(), list_id, member_id))

    # --- segments -----------------------------------------------------------------------------

    def segments(self, list_id: str) -> list[dict]:
        with self.db.tx() as conn:
            _found_list(conn, list_id)
            return [_segment(conn, r) for r in conn.execute("SELECT * FROM segments WHERE list_id = ? ORDER BY id",
                                                            (list_id,))]

    def create_segment(self, list_id: str, body: dict) -> dict:
        if (body.get("options") is None) == (body.get("static_segment") is None):
            raise ApiError(400, "VALIDATION_ERROR", "Сегмент має або умови (options), або список email (static_segment)",
                           [{"field": "options", "message": "Вкажіть рівно одне з двох", "type": "conflicting_values"}])
        with self.db.tx() as conn:
            _found_list(conn, list_id)
            kind = "saved" if body.get("options") else "static"
            emails = [e.strip().lower() for e in body.get("static_segment") or []]
            cur = conn.execute("INSERT INTO segments (list_id, name, type, options, emails, created_at) VALUES "
                               "(?,?,?,?,?,?)", (list_id, body["name"], kind, json.dumps(body.get("options")),
                                                 json.dumps(emails), time.time()))
            return _segment(conn, conn.execute("SELECT * FROM segments WHERE id = ?", (cur.lastrowid,)).fetchone())

    def segment_members(self, list_id: str, segment_id: int) -> list[dict]:
        with self.db.tx() as conn:
            return [_member(conn, r) for r in _in_segment(conn, _found_segment(conn, list_id, segment_id))]

    # --- webhooks -----------------------------------------------------------------------------

    def webhooks(self, list_id: str) -> list[dict]:
        with self.db.tx() as conn:
            _found_list(conn, list_id)
            return [_webhook(r) for r in conn.execute("SELECT * FROM webhooks WHERE list_id = ? ORDER BY created_at",
                                                      (list_id,))]

    def create_webhook(self, list_id: str, body: dict) -> dict:
        webhook_id = secrets.token_hex(5)
        with self.db.tx() as conn:
            _found_list(conn, list_id)
            conn.execute("INSERT INTO webhooks VALUES (?,?,?,?,?,?)", (webhook_id, list_id, body["url"],
                                                                       json.dumps(body["events"]), new_secret(),
                                                                       time.time()))
            return _webhook(conn.execute("SELECT * FROM webhooks WHERE id = ?", (webhook_id,)).fetchone())

    def delete_webhook(self, list_id: str, webhook_id: str) -> None:
        with self.db.tx() as conn:
            if conn.execute("DELETE FROM webhooks WHERE list_id = ? AND id = ?", (list_id, webhook_id)).rowcount == 0:
                raise ApiError(404, "NOT_FOUND", f"Вебхука {webhook_id} в аудиторії {list_id} немає")

    def deliveries(self, list_id: str, webhook_id: str) -> list[dict]:
        with self.db.tx() as conn:
            if conn.execute("SELECT 1 FROM webhooks WHERE list_id = ? AND id = ?", (list_id, webhook_id)).fetchone() is None:
                raise ApiError(404, "NOT_FOUND", f"Вебхука {webhook_id} в аудиторії {list_id} немає")
            rows = conn.execute("SELECT * FROM deliveries WHERE webhook_id = ? ORDER BY created_at DESC LIMIT 100",
                                (webhook_id,))
            return [_delivery(r) for r in rows]


# --- inside a transaction ---------------------------------------------------------------------


def _insert_member(conn, list_id: str, member_id: str, email: str, status: str, merge_fields: dict,
                   tags: list[str]) -> None:
    now = time.time()
    conn.execute("INSERT INTO members VALUES (?,?,?,?,?,?,?,?)",
                 (list_id, member_id, email.strip().lower(), status, json.dumps(merge_fields, ensure_ascii=False),
                  json.dumps(list(dict.fromkeys(tags)), ensure_ascii=False), now, now))


def _member_row(conn, list_id: str, member_id: str):
    return conn.execute("SELECT * FROM members WHERE list_id = ? AND id = ?", (list_id, member_id)).fetchone()


def _found_list(conn, list_id: str):
    row = conn.execute("SELECT * FROM lists WHERE id = ?", (list_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Аудиторії {list_id} немає")
    return row


def _found_member(conn, list_id: str, member_id: str):
    _found_list(conn, list_id)
    row = _member_row(conn, list_id, member_id)
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Підписника {member_id} в аудиторії {list_id} немає")
    return row


def _found_segment(conn, list_id: str, segment_id: int):
    _found_list(conn, list_id)
    row = conn.execute("SELECT * FROM segments WHERE list_id = ? AND id = ?", (list_id, segment_id)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Сегмента {segment_id} в аудиторії {list_id} немає")
    return row


def _matches(member, condition: dict) -> bool:
    field, op, wanted = condition["field"], condition.get("op", "is"), condition["value"].strip().lower()
    if field == "tag":
        values = [t.lower() for t in json.loads(member["tags"])]
    elif field.startswith("merge_fields."):
        values = [str(json.loads(member["merge_fields"]).get(field.split(".", 1)[1], "")).lower()]
    else:
        values = [str(member["email" if field == "email_address" else field]).lower()]
    if op == "contains":
        return any(wanted in v for v in values)
    return (wanted in values) == (op == "is")


def _in_segment(conn, segment) -> list:
    members = conn.execute("SELECT * FROM members WHERE list_id = ? ORDER BY created_at, id",
                           (segment["list_id"],)).fetchall()
    if segment["type"] == "static":
        emails = set(json.loads(segment["emails"]))
        return [m for m in members if m["email"] in emails]
    options = json.loads(segment["options"])
    combine = all if options["match"] == "all" else any
    return [m for m in members if combine(_matches(m, c) for c in options["conditions"])]


def recipients(conn, list_id: str, segment_id: int | None) -> list:
    """The subscribed members a campaign goes to: the audience, or one segment of it (404 for unknown ones)."""
    _found_list(conn, list_id)
    rows = (_in_segment(conn, _found_segment(conn, list_id, segment_id)) if segment_id is not None else
            conn.execute("SELECT * FROM members WHERE list_id = ? ORDER BY created_at, id", (list_id,)).fetchall())
    return [m for m in rows if m["status"] == "subscribed"]


def _list(conn, row) -> dict:
    counts = dict(conn.execute("SELECT status, COUNT(*) FROM members WHERE list_id = ? GROUP BY status",
                               (row["id"],)).fetchall())
    return {"id": row["id"], "name": row["name"], "campaign_defaults": json.loads(row["defaults"]),
            "permission_reminder": row["permission_reminder"], "date_created": iso(row["created_at"]),
            "stats": {"member_count": counts.get("subscribed", 0), "unsubscribe_count": counts.get("unsubscribed", 0),
                      "cleaned_count": counts.get("cleaned", 0)}}


def _member(conn, row) -> dict:
    stats = dict(conn.execute("SELECT action, COUNT(*) FROM activity WHERE list_id = ? AND member_id = ? GROUP BY action",
                              (row["list_id"], row["id"])).fetchall())
    tags = json.loads(row["tags"])
    return {"id": row["id"], "email_address": row["email"], "status": row["status"], "list_id": row["list_id"],
            "merge_fields": json.loads(row["merge_fields"]), "tags": [{"name": t} for t in tags],
            "tags_count": len(tags), "timestamp_signup": iso(row["created_at"]), "last_changed": iso(row["updated_at"]),
            "stats": {"opens": stats.get("open", 0), "clicks": stats.get("click", 0)}}


def _segment(conn, row) -> dict:
    return {"id": row["id"], "name": row["name"], "type": row["type"], "list_id": row["list_id"],
            "member_count": len(_in_segment(conn, row)), "options": json.loads(row["options"]) if row["options"] else None,
            "created_at": iso(row["created_at"])}


def _webhook(row) -> dict:
    return {"id": row["id"], "list_id": row["list_id"], "url": row["url"], "events": json.loads(row["events"]),
            "secret": row["secret"]}


def _delivery(row) -> dict:
    return {"id": row["id"], "type": row["type"], "status": row["status"], "attempts": row["attempts"],
            "last_status": row["last_status"], "last_error": row["last_error"], "payload": json.loads(row["body"]),
            "created_at": iso(row["created_at"], ms=True), "updated_at": iso(row["updated_at"], ms=True)}


StoreDep = Annotated[Store, Depends(store_of)]
