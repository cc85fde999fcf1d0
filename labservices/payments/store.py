"""The payments service's own SQLite database: intents, events, endpoints and the delivery outbox.

Every change that emits an event writes the event and one delivery row per subscribed
endpoint in the same transaction (a transactional outbox): once the API has answered,
the delivery is on disk, so a crash or a restart loses none. The worker
(``delivery.py``) claims due rows, sends them and records each attempt here.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable

from fastapi import Depends

from labservices.common import ApiError, Database, clock
from labservices.common import idempotency as idempotency_mod
from labservices.common import where_clause
from labservices.common.deps import store_of
from labservices.common.events.store import current_traceparent
from labservices.common.idempotency import Idempotency

from labservices.common import signing

SCHEMA = """
CREATE TABLE IF NOT EXISTS payment_intents (
    id TEXT PRIMARY KEY,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    customer TEXT,
    description TEXT,
    status TEXT NOT NULL,
    payment_method TEXT,
    metadata TEXT NOT NULL,
    last_payment_error TEXT,
    created INTEGER NOT NULL
);
-- The trace each event was made in, so its deliveries continue that trace (W3C traceparent).
CREATE TABLE IF NOT EXISTS event_traces (
    event_id TEXT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    traceparent TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY,
    payment_intent TEXT NOT NULL REFERENCES payment_intents(id),
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_by_intent ON refunds(payment_intent);
CREATE TABLE IF NOT EXISTS pull_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number INTEGER NOT NULL,
    repository TEXT NOT NULL,
    title TEXT NOT NULL,
    login TEXT NOT NULL,
    head_ref TEXT NOT NULL,
    head_sha TEXT NOT NULL,
    created INTEGER NOT NULL
);
-- body is the exact JSON every attempt sends, so the bytes (and the signature's input) never change.
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    object_id TEXT,
    guid TEXT NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_object ON events(object_id);
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled_events TEXT NOT NULL,
    secret TEXT NOT NULL,
    old_secret TEXT,
    old_secret_expires REAL,
    status TEXT NOT NULL,
    created INTEGER NOT NULL
);
-- One row per (event, endpoint): the outbox. mode 'manual' gets one attempt and no schedule.
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    attempts_made INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    locked INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, locked, next_attempt_at);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    manual INTEGER NOT NULL,
    scheduled_at REAL NOT NULL,
    started_at REAL NOT NULL,
    duration_ms REAL NOT NULL,
    status_code INTEGER,
    error TEXT,
    response_body TEXT,
    succeeded INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
""" + idempotency_mod.SCHEMA

MAX_ENDPOINTS = 50
RESPONSE_KEEP_BYTES = 1024

# Test payment methods, as Stripe names them; card numbers map onto them.
SUCCEEDS = {"pm_card_visa", "pm_card_mastercard"}
DECLINES = {
    "pm_card_chargeDeclined": ("generic_decline", "Картку відхилено банком-емітентом"),
    "pm_card_chargeDeclinedInsufficientFunds": ("insufficient_funds", "Недостатньо коштів на картці"),
}
CARD_NUMBERS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
}
PAYMENT_METHODS = sorted(SUCCEEDS | set(DECLINES))


def new_id(prefix: str) -> str:
    """A Stripe-style id: a prefix and 24 random letters and digits."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(24))


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds, e.g. ``2024-02-08T10:30:45.123Z``."""
    return None if ts is None else clock.iso(ts, ms=True)


def event_body(payload: dict[str, Any]) -> str:
    """The exact text a delivery carries: pretty JSON, UTF-8, as Stripe sends it."""
    return json.dumps(payload, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Due:
    """A delivery the worker is about to attempt: everything it needs to send and sign it."""

    id: str
    event_id: str
    event_type: str
    source: str
    guid: str
    body: str
    endpoint_id: str
    url: str
    secrets: list[str]
    mode: str
    attempts_made: int
    scheduled_at: float
    traceparent: str | None = None


class Store:
    def __init__(self, path: Path | str) -> None:
        self.db = Database(path, SCHEMA)
        self.wake: Callable[[], None] = lambda: None  # the worker's doorbell, set by main.build_app

    def reset(self) -> None:
        """Empty every table, children first (dropping them would trip over their foreign keys)."""
        with self.db.tx() as conn:
            for table in ("attempts", "deliveries", "event_traces", "events", "endpoints", "idempotency_records",
                          "refunds",
                          "payment_intents",
                          "pull_requests"):
                conn.execute(f"DELETE FROM {table}")

    # --- payment intents ------------------------------------------------------------

    def create_intent(self, fields: dict[str, Any], idempotency: Idempotency | None) -> tuple[int, dict, bool]:
        """Create an intent (``payment_intent.created``), or replay the answer stored under the key.

        Returns (status, body, replayed). ``confirm`` in ``fields`` confirms it at once.
        """
        with self.db.tx() as conn:
            if idempotency is not None and (saved := idempotency_mod.replay(conn, idempotency)) is not None:
                return saved.status, saved.body, True
            now = int(time.time())
            intent_id = new_id("pi_")
            method = fields.get("payment_method")
            status = "requires_confirmation" if method else "requires_payment_method"
            conn.execute(
                "INSERT INTO payment_intents (id, amount, currency, customer, description, status, payment_method,"
                " metadata, created) VALUES (?,?,?,?,?,?,?,?,?)",
                (intent_id, fields["amount"], fields["currency"], fields.get("customer"), fields.get("description"),
                 status, method, json.dumps(fields.get("metadata") or {}, ensure_ascii=False), now))
            intent = _intent(conn, intent_id)
            _emit(conn, "payment_intent.created", "payments", intent_id, intent)
            if fields.get("confirm"):
                intent = _confirm(conn, intent, method, fields.get("fail", False))
            if idempotency is not None:
                idempotency_mod.remember(conn, idempotency, 201, intent)
        self.wake()
        return 201, intent, False

    def list_intents(self, order_id: str | None, status: str | None, limit: int) -> list[dict]:
        where, args = where_clause([("json_extract(metadata, '$.order_id') = ?", order_id), ("status = ?", status)])
        sql = f"SELECT id FROM payment_intents {where}"
        with self.db.tx() as conn:
            ids = [r[0] for r in conn.execute(sql + " ORDER BY rowid DESC LIMIT ?", [*args, limit])]
            return [_intent(conn, i) for i in ids]

    def get_intent(self, intent_id: str) -> dict:
        with self.db.tx() as conn:
            return _found_intent(conn, intent_id)

    def confirm_intent(self, intent_id: str, method: str | None, fail: bool) -> dict:
        with self.db.tx() as conn:
            intent = _found_intent(conn, intent_id)
            if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise _state_error(intent, "підтвердити")
            method = method or intent["payment_method"]
            if not method:
                raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту",
                               [{"field": "payment_method", "message": "Вкажіть тестову картку, напр. pm_card_visa"}])
            intent = _confirm(conn, intent, method, fail)
        self.wake()
        return intent

    def cancel_intent(self, intent_id: str) -> dict:
        with self.db.tx() as conn:
            intent = _found_intent(conn, intent_id)
            if intent["status"] in ("succeeded", "canceled"):
                raise _state_error(intent, "скасувати")
            conn.execute("UPDATE payment_intents SET status = 'canceled' WHERE id = ?", (intent_id,))
            intent = _intent(conn, intent_id)
            _emit(conn, "payment_intent.canceled", "payments", intent_id, intent)
        self.wake()
        return intent

    # --- refunds --------------------------------------------------------------------

    def refund(self, intent_id: str, amount: int | None, reason: str,
               idempotency: Idempotency | None) -> tuple[int, dict, bool]:
        """Give back ``amount`` (default: all not refunded yet) of a succeeded payment; ``charge.refunded``."""
        with self.db.tx() as conn:
            if idempotency is not None and (saved := idempotency_mod.replay(conn, idempotency)) is not None:
                return saved.status, saved.body, True
            intent = _found_intent(conn, intent_id)
            if intent["status"] != "succeeded":
                raise _state_error(intent, "повернути")
            left = intent["amount"] - intent["amount_refunded"]
            amount = left if amount is None else amount
            if amount > left or left == 0:
                raise ApiError(409, "AMOUNT_TOO_LARGE", f"Повернути можна щонайбільше {left} (у мінімальних одиницях)",
                               [{"field": "amount", "message": f"Не більше {left}"}])
            refund = {"id": new_id("re_"), "object": "refund", "payment_intent": intent_id, "amount": amount,
                      "currency": intent["currency"], "reason": reason, "status": "succeeded",
                      "created": int(time.time())}
            conn.execute("INSERT INTO refunds (id, payment_intent, amount, reason, created) VALUES (?,?,?,?,?)",
                         (refund["id"], intent_id, amount, reason, refund["created"]))
            _emit(conn, "charge.refunded", "payments", intent_id, {**_intent(conn, intent_id), "refund": refund})
            if idempotency is not None:
                idempotency_mod.remember(conn, idempotency, 201, refund)
        self.wake()
        return 201, refund, False

    def list_refunds(self, intent_id: str | None, limit: int) -> list[dict]:
        where, args = where_clause([("payment_intent = ?", intent_id)])
        with self.db.tx() as conn:
            rows = conn.execute(f"SELECT r.*, p.currency FROM refunds r JOIN payment_intents p ON p.id = r.payment_intent"
                                f" {where.replace('payment_intent', 'r.payment_intent')} ORDER BY r.rowid DESC LIMIT ?",
                                [*args, limit]).fetchall()
            return [{"id": r["id"], "object": "refund", "payment_intent": r["payment_intent"], "amount": r["amount"],
                     "currency": r["currency"], "reason": r["reason"], "status": "succeeded", "created": r["created"]}
                    for r in rows]

    # --- GitHub-like pull requests --------------------------------------------------

    def open_pull_request(self, repository: str, title: str, login: str, head_ref: str) -> tuple[dict, str]:
        """Open a pull request and emit GitHub's ``pull_request`` event (``action: opened``)."""
        with self.db.tx() as conn:
            number = conn.execute("SELECT COUNT(*) FROM pull_requests WHERE repository = ?", (repository,)).fetchone()[0] + 1
            sha = secrets.token_hex(20)
            cur = conn.execute(
                "INSERT INTO pull_requests (number, repository, title, login, head_ref, head_sha, created)"
                " VALUES (?,?,?,?,?,?,?)", (number, repository, title, login, head_ref, sha, int(time.time())))
            pr = {"id": cur.lastrowid, "number": number, "title": title, "state": "open",
                  "user": {"login": login}, "head": {"ref": head_ref, "sha": sha}}
            owner, name = repository.split("/", 1)
            payload = {"action": "opened", "number": number, "pull_request": pr,
                       "repository": {"name": name, "full_name": repository, "owner": {"login": owner}},
                       "sender": {"login": login}}
            event_id = _emit(conn, "pull_request", "github", f"pr_{cur.lastrowid}", payload, raw=True)
        self.wake()
        return pr, event_id

    # --- events -----------------------------------------------------------------------

    def list_events(self, type_: str | None, object_id: str | None, limit: int) -> list[dict]:
        where, args = where_clause([("type = ?", type_), ("object_id = ?", object_id)])
        sql = f"SELECT * FROM events {where}"
        with self.db.tx() as conn:
            return [_event(r) for r in conn.execute(sql + " ORDER BY rowid DESC LIMIT ?", [*args, limit])]

    def get_event(self, event_id: str) -> dict:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
            if row is None:
                raise ApiError(404, "NOT_FOUND", f"Подію {event_id} не знайдено")
            return _event(row)

    # --- endpoints --------------------------------------------------------------------

    def create_endpoint(self, url: str, events: list[str], description: str, secret: str | None) -> dict:
        with self.db.tx() as conn:
            if conn.execute("SELECT COUNT(*) FROM endpoints").fetchone()[0] >= MAX_ENDPOINTS:
                raise ApiError(409, "LIMIT_REACHED", f"Уже зареєстровано {MAX_ENDPOINTS} endpoint-ів; "
                               "видаліть непотрібні (DELETE /api/webhook_endpoints/{id})")
            endpoint_id = new_id("we_")
            conn.execute(
                "INSERT INTO endpoints (id, url, description, enabled_events, secret, status, created)"
                " VALUES (?,?,?,?,?,'enabled',?)",
                (endpoint_id, url, description, json.dumps(events), secret or signing.new_secret(), int(time.time())))
            return _endpoint(_endpoint_row(conn, endpoint_id), with_secret=True)

    def list_endpoints(self) -> list[dict]:
        with self.db.tx() as conn:
            return [_endpoint(r) for r in conn.execute("SELECT * FROM endpoints ORDER BY rowid")]

    def get_endpoint(self, endpoint_id: str, with_secret: bool = False) -> dict:
        with self.db.tx() as conn:
            return _endpoint(_endpoint_row(conn, endpoint_id), with_secret=with_secret)

    def update_endpoint(self, endpoint_id: str, changes: dict[str, Any]) -> dict:
        with self.db.tx() as conn:
            _endpoint_row(conn, endpoint_id)
            if "enabled_events" in changes:
                changes = {**changes, "enabled_events": json.dumps(changes["enabled_events"])}
            if changes:
                sets = ", ".join(f"{k} = ?" for k in changes)
                conn.execute(f"UPDATE endpoints SET {sets} WHERE id = ?", [*changes.values(), endpoint_id])
            return _endpoint(_endpoint_row(conn, endpoint_id))

    def delete_endpoint(self, endpoint_id: str) -> None:
        with self.db.tx() as conn:
            if conn.execute("DELETE FROM endpoints WHERE id = ?", (endpoint_id,)).rowcount == 0:
                raise ApiError(404, "NOT_FOUND", f"Endpoint {endpoint_id} не знайдено")

    def roll_secret(self, endpoint_id: str, expires_in_s: int) -> dict:
        """A new secret; the old one keeps signing (beside the new) for ``expires_in_s`` seconds."""
        with self.db.tx() as conn:
            row = _endpoint_row(conn, endpoint_id)
            old, expires = (row["secret"], time.time() + expires_in_s) if expires_in_s > 0 else (None, None)
            conn.execute("UPDATE endpoints SET secret = ?, old_secret = ?, old_secret_expires = ? WHERE id = ?",
                         (signing.new_secret(), old, expires, endpoint_id))
            return _endpoint(_endpoint_row(conn, endpoint_id), with_secret=True)

    def signing_secrets(self, endpoint_id: str) -> list[str]:
        with self.db.tx() as conn:
            return _secrets(_endpoint_row(conn, endpoint_id))

    # --- deliveries -------------------------------------------------------------------

    def list_deliveries(self, event_id: str | None, endpoint_id: str | None, status: str | None,
                        limit: int) -> list[dict]:
        where, args = where_clause([("d.event_id = ?", event_id), ("d.endpoint_id = ?", endpoint_id),
                                    ("d.status = ?", status)])
        sql = ("SELECT d.*, e.type AS event_type, p.url AS url FROM deliveries d JOIN events e ON e.id = d.event_id"
               f" JOIN endpoints p ON p.id = d.endpoint_id {where}")
        with self.db.tx() as conn:
            rows = conn.execute(sql + " ORDER BY d.created_at DESC, d.rowid DESC LIMIT ?", [*args, limit]).fetchall()
            return [_delivery(conn, r) for r in rows]

    def get_delivery(self, delivery_id: str) -> dict:
        with self.db.tx() as conn:
            return _delivery(conn, _delivery_row(conn, delivery_id))

    def redeliver(self, delivery_id: str) -> dict:
        """Send a delivery again now: one manual attempt once it has finished, or the next one at once."""
        with self.db.tx() as conn:
            row = _delivery_row(conn, delivery_id)
            _reopen(conn, row)
            result = _delivery(conn, _delivery_row(conn, delivery_id))
        self.wake()
        return result

    def redeliver_event(self, event_id: str, endpoint_id: str | None) -> list[dict]:
        """Resend an event to one endpoint (any, subscribed or not) or to every endpoint it went to."""
        with self.db.tx() as conn:
            if conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone() is None:
                raise ApiError(404, "NOT_FOUND", f"Подію {event_id} не знайдено")
            if endpoint_id is not None:
                _endpoint_row(conn, endpoint_id)
                row = conn.execute("SELECT * FROM deliveries WHERE event_id = ? AND endpoint_id = ?",
                                   (event_id, endpoint_id)).fetchone()
                if row is None:
                    ids = [_insert_delivery(conn, event_id, endpoint_id, mode="manual")]
                else:
                    _reopen(conn, row)
                    ids = [row["id"]]
            else:
                rows = conn.execute("SELECT * FROM deliveries WHERE event_id = ?", (event_id,)).fetchall()
                if not rows:
                    raise ApiError(409, "NO_ENDPOINT", f"Подію {event_id} ще не надсилали жодному endpoint-у; "
                                   "вкажіть endpoint_id, куди її надіслати")
                for row in rows:
                    _reopen(conn, row)
                ids = [r["id"] for r in rows]
            result = [_delivery(conn, _delivery_row(conn, i)) for i in ids]
        self.wake()
        return result

    # --- what the worker uses ---------------------------------------------------------

    def unlock_all(self) -> int:
        """After a restart: nothing is in flight any more, so every claimed delivery is due again."""
        with self.db.tx() as conn:
            return conn.execute("UPDATE deliveries SET locked = 0 WHERE locked = 1").rowcount

    def next_due(self) -> float | None:
        with self.db.tx() as conn:
            return conn.execute("SELECT MIN(next_attempt_at) FROM deliveries"
                                " WHERE status = 'pending' AND locked = 0").fetchone()[0]

    def pending_count(self) -> int:
        """Deliveries still to be sent (due now or waiting for a retry): the outbox's depth."""
        with self.db.tx() as conn:
            return conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]

    def claim_due(self, now: float, limit: int) -> list[Due]:
        """Lock up to ``limit`` deliveries whose time has come, oldest due first."""
        if limit <= 0:
            return []
        with self.db.tx() as conn:
            rows = conn.execute(
                "SELECT d.*, e.type, e.source, e.guid, e.body, p.url, p.secret, p.old_secret, p.old_secret_expires,"
                " t.traceparent FROM deliveries d JOIN events e ON e.id = d.event_id"
                " JOIN endpoints p ON p.id = d.endpoint_id LEFT JOIN event_traces t ON t.event_id = d.event_id"
                " WHERE d.status = 'pending' AND d.locked = 0 AND d.next_attempt_at <= ?"
                " ORDER BY d.next_attempt_at LIMIT ?", (now, limit)).fetchall()
            conn.executemany("UPDATE deliveries SET locked = 1 WHERE id = ?", [(r["id"],) for r in rows])
            return [Due(r["id"], r["event_id"], r["type"], r["source"], r["guid"], r["body"], r["endpoint_id"],
                        r["url"], _secrets(r), r["mode"], r["attempts_made"], r["next_attempt_at"], r["traceparent"])
                    for r in rows]

    def record_attempt(self, due: Due, started: float, duration_ms: float, status_code: int | None,
                       error: str | None, response: str, succeeded: bool, schedule: list[float],
                       max_attempts: int) -> str:
        """Write one attempt and move the delivery on: succeeded, failed, or pending until the next time."""
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE id = ?", (due.id,)).fetchone()
            if row is None:
                return "gone"  # reset or its endpoint deleted while in flight
            number = row["attempts_made"] + 1
            conn.execute(
                "INSERT INTO attempts (delivery_id, number, manual, scheduled_at, started_at, duration_ms, status_code,"
                " error, response_body, succeeded) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (due.id, number, int(row["mode"] == "manual"), due.scheduled_at, started, round(duration_ms, 2),
                 status_code, error, response[:RESPONSE_KEEP_BYTES], int(succeeded)))
            if succeeded:
                status, next_at = "succeeded", None
            else:
                automatic = conn.execute("SELECT COUNT(*) FROM attempts WHERE delivery_id = ? AND manual = 0",
                                         (due.id,)).fetchone()[0]
                if row["mode"] == "manual" or automatic >= max_attempts:
                    status, next_at = "failed", None
                else:
                    status, next_at = "pending", time.time() + schedule[min(automatic, len(schedule)) - 1]
            if row["next_attempt_at"] is not None and row["next_attempt_at"] > (due.scheduled_at or 0):
                # Someone asked to redeliver while this attempt was in flight (it was made due again after
                # it was claimed): that request is one more attempt now, not lost under this attempt's result.
                status, next_at = "pending", time.time()
                conn.execute("UPDATE deliveries SET mode = 'manual' WHERE id = ?", (due.id,))
            conn.execute("UPDATE deliveries SET status = ?, attempts_made = ?, next_attempt_at = ?, locked = 0"
                         " WHERE id = ?", (status, number, next_at, due.id))
            return status


StoreDep = Annotated[Store, Depends(store_of)]


# --- helpers ----------------------------------------------------------------------------


def _emit(conn: sqlite3.Connection, type_: str, source: str, object_id: str, obj: dict, raw: bool = False) -> str:
    """Write an event and a pending delivery to every enabled endpoint subscribed to its type."""
    event_id = new_id("evt_")
    created = int(time.time())
    payload = obj if raw else {"id": event_id, "type": type_, "data": {"object": obj}, "created": created}
    conn.execute("INSERT INTO events (id, type, source, object_id, guid, body, created) VALUES (?,?,?,?,?,?,?)",
                 (event_id, type_, source, object_id, str(uuid.uuid4()), event_body(payload), created))
    traceparent = current_traceparent()
    if traceparent:
        conn.execute("INSERT INTO event_traces (event_id, traceparent) VALUES (?, ?)", (event_id, traceparent))
    for row in conn.execute("SELECT id, enabled_events FROM endpoints WHERE status = 'enabled'").fetchall():
        wanted = json.loads(row["enabled_events"])
        if "*" in wanted or type_ in wanted:
            _insert_delivery(conn, event_id, row["id"], mode="auto")
    return event_id


def _insert_delivery(conn: sqlite3.Connection, event_id: str, endpoint_id: str, mode: str) -> str:
    delivery_id = new_id("dlv_")
    now = time.time()
    conn.execute("INSERT INTO deliveries (id, event_id, endpoint_id, status, mode, next_attempt_at, created_at)"
                 " VALUES (?,?,?, 'pending', ?,?,?)", (delivery_id, event_id, endpoint_id, mode, now, now))
    return delivery_id


def _reopen(conn: sqlite3.Connection, row: sqlite3.Row) -> None:
    """Due now; a finished delivery gets one manual attempt (a pending one keeps its schedule)."""
    mode = row["mode"] if row["status"] == "pending" else "manual"
    conn.execute("UPDATE deliveries SET status = 'pending', mode = ?, next_attempt_at = ? WHERE id = ?",
                 (mode, time.time(), row["id"]))


def _confirm(conn: sqlite3.Connection, intent: dict, method: str | None, fail: bool) -> dict:
    method = CARD_NUMBERS.get(method or "", method)
    if method not in SUCCEEDS and method not in DECLINES:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту",
                       [{"field": "payment_method", "message": f"Невідома тестова картка; доступні: {', '.join(PAYMENT_METHODS)}",
                         "type": "not_found"}])
    if fail and method in SUCCEEDS:
        method = "pm_card_chargeDeclined"
    if method in SUCCEEDS:
        conn.execute("UPDATE payment_intents SET status = 'succeeded', payment_method = ?, last_payment_error = NULL"
                     " WHERE id = ?", (method, intent["id"]))
        kind = "payment_intent.succeeded"
    else:
        decline, message = DECLINES[method]
        error = {"code": "card_declined", "decline_code": decline, "message": message, "payment_method": method}
        conn.execute("UPDATE payment_intents SET status = 'requires_payment_method', payment_method = NULL,"
                     " last_payment_error = ? WHERE id = ?", (json.dumps(error, ensure_ascii=False), intent["id"]))
        kind = "payment_intent.payment_failed"
    intent = _intent(conn, intent["id"])
    _emit(conn, kind, "payments", intent["id"], intent)
    return intent


def _state_error(intent: dict, verb: str) -> ApiError:
    return ApiError(409, "INVALID_STATE", f"Платіж {intent['id']} у стані {intent['status']}: його не можна {verb}",
                    [{"field": "status", "message": intent["status"]}])


def _intent(conn: sqlite3.Connection, intent_id: str) -> dict:
    row = conn.execute("SELECT * FROM payment_intents WHERE id = ?", (intent_id,)).fetchone()
    if row is None:
        return {}
    return {"id": row["id"], "object": "payment_intent", "amount": row["amount"], "currency": row["currency"],
            "customer": row["customer"], "description": row["description"], "status": row["status"],
            "payment_method": row["payment_method"], "metadata": json.loads(row["metadata"]),
            "last_payment_error": json.loads(row["last_payment_error"]) if row["last_payment_error"] else None,
            "amount_refunded": conn.execute("SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_intent = ?",
                                            (intent_id,)).fetchone()[0],
            "created": row["created"]}


def _found_intent(conn: sqlite3.Connection, intent_id: str) -> dict:
    intent = _intent(conn, intent_id)
    if not intent:
        raise ApiError(404, "NOT_FOUND", f"Платіж {intent_id} не знайдено")
    return intent


def _event(row: sqlite3.Row) -> dict:
    return {"id": row["id"], "type": row["type"], "source": row["source"], "object_id": row["object_id"],
            "created": row["created"], "payload": json.loads(row["body"])}


def _endpoint_row(conn: sqlite3.Connection, endpoint_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM endpoints WHERE id = ?", (endpoint_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Endpoint {endpoint_id} не знайдено")
    return row


def _secrets(row: sqlite3.Row) -> list[str]:
    found = [row["secret"]]
    if row["old_secret"] and (row["old_secret_expires"] or 0) > time.time():
        found.append(row["old_secret"])
    return found


def _endpoint(row: sqlite3.Row, with_secret: bool = False) -> dict:
    endpoint = {"id": row["id"], "url": row["url"], "description": row["description"],
                "enabled_events": json.loads(row["enabled_events"]), "status": row["status"],
                "created": row["created"], "secret": row["secret"] if with_secret else None,
                "rolled_secret_expires_at": iso(row["old_secret_expires"])
                if row["old_secret"] and (row["old_secret_expires"] or 0) > time.time() else None}
    return endpoint


def _delivery_row(conn: sqlite3.Connection, delivery_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT d.*, e.type AS event_type, p.url AS url FROM deliveries d"
                       " JOIN events e ON e.id = d.event_id JOIN endpoints p ON p.id = d.endpoint_id"
                       " WHERE d.id = ?", (delivery_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Доставку {delivery_id} не знайдено")
    return row


def _delivery(conn: sqlite3.Connection, row: sqlite3.Row) -> dict:
    attempts = [
        {"number": a["number"], "manual": bool(a["manual"]), "scheduled_at": iso(a["scheduled_at"]),
         "started_at": iso(a["started_at"]), "late_ms": round((a["started_at"] - a["scheduled_at"]) * 1000, 1),
         "duration_ms": a["duration_ms"], "status_code": a["status_code"], "error": a["error"],
         "response_body": a["response_body"], "succeeded": bool(a["succeeded"])}
        for a in conn.execute("SELECT * FROM attempts WHERE delivery_id = ? ORDER BY number", (row["id"],))
    ]
    return {"id": row["id"], "event_id": row["event_id"], "event_type": row["event_type"],
            "endpoint_id": row["endpoint_id"], "url": row["url"], "status": row["status"], "mode": row["mode"],
            "attempts_made": row["attempts_made"], "next_attempt_at": iso(row["next_attempt_at"])
            if row["status"] == "pending" else None,
            "created_at": iso(row["created_at"]),
            "last_status_code": attempts[-1]["status_code"] if attempts else None, "attempts": attempts}


