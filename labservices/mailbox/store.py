"""The mailbox's database: every message the SMTP side accepted, as received."""
from __future__ import annotations

import email
import email.policy
import time
import uuid
from email.utils import getaddresses, parseaddr

from labservices.common import ApiError, Database
from labservices.common.clock import iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    message_id TEXT UNIQUE,
    mail_from TEXT NOT NULL,
    rcpt_to TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT,
    raw BLOB NOT NULL,
    size INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages(created_at);
"""

MAX_MESSAGES = 2000


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        self.db.reset()

    def accept(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> str:
        """Keep a message; one that comes again with the same Message-ID is kept once (a retried send)."""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = (parsed.get("Message-ID") or "").strip() or None
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        with self.db.tx() as conn:
            if message_id and conn.execute("SELECT 1 FROM messages WHERE message_id = ?", (message_id,)).fetchone():
                return "duplicate"
            conn.execute(
                "INSERT INTO messages (id, message_id, mail_from, rcpt_to, subject, text, html, raw, size, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (uuid.uuid4().hex[:22], message_id, parsed.get("From") or mail_from, ", ".join(rcpt_tos),
                 str(parsed.get("Subject") or ""), text_part.get_content() if text_part else "",
                 html_part.get_content() if html_part else None, raw, len(raw), time.time()))
            conn.execute("DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY created_at DESC"
                         " LIMIT -1 OFFSET ?)", (MAX_MESSAGES,))
        return "accepted"

    def messages(self, start: int, limit: int, to: str | None) -> dict:
        with self.db.tx() as conn:
            where, args = ("WHERE rcpt_to LIKE ?", [f"%{to}%"]) if to else ("", [])
            total = conn.execute(f"SELECT COUNT(*) FROM messages {where}", args).fetchone()[0]
            unread = conn.execute(f"SELECT COUNT(*) FROM messages {where} {'AND' if where else 'WHERE'} read = 0",
                                  args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM messages {where} ORDER BY created_at DESC LIMIT ? OFFSET ?",
                                [*args, limit, start]).fetchall()
        found = [summary(r) for r in rows]
        return {"total": total, "unread": unread, "count": len(found), "start": start, "messages": found}

    def message(self, message_id: str) -> dict:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                raise ApiError(404, "NOT_FOUND", f"Листа {message_id} немає")
            conn.execute("UPDATE messages SET read = 1 WHERE id = ?", (message_id,))
            return {**summary(row), "Date": iso(row["created_at"]), "Text": row["text"], "HTML": row["html"] or "",
                    "Raw": row["raw"].decode("utf-8", "replace")}

    def delete_all(self) -> int:
        with self.db.tx() as conn:
            return conn.execute("DELETE FROM messages").rowcount


def _address(text: str) -> dict:
    name, address = parseaddr(text)
    return {"Name": name, "Address": address}


def summary(row) -> dict:
    return {"ID": row["id"], "MessageID": row["message_id"], "From": _address(row["mail_from"]),
            "To": [{"Name": n, "Address": a} for n, a in getaddresses([row["rcpt_to"]])],
            "Subject": row["subject"], "Created": iso(row["created_at"], ms=True),
            "Snippet": " ".join(row["text"].split())[:150], "Size": row["size"], "Read": bool(row["read"])}
