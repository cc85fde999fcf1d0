"""The saga log: each saga, each of its steps, and every thing that happened, in the saga's own database.

The orchestrator writes down what it is about to do before it does it and what came of it after,
each in its own transaction. So whatever moment it is killed at, the log says which steps are
done (their compensations may be needed), which one was under way (it is done again: every step
is idempotent, keyed by the saga) and what comes next.
"""
from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from labservices.common import ApiError, Database, where_clause
from labservices.common.clock import iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS sagas (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    status TEXT NOT NULL,
    order_status TEXT NOT NULL,
    request TEXT NOT NULL,
    total INTEGER,
    failed_step TEXT,
    reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS saga_steps (
    saga_id TEXT NOT NULL REFERENCES sagas(id),
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    started_at REAL,
    finished_at REAL,
    compensated_at REAL,
    PRIMARY KEY (saga_id, idx)
);
CREATE TABLE IF NOT EXISTS saga_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    saga_id TEXT NOT NULL,
    at REAL NOT NULL,
    step TEXT,
    kind TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS saga_log_saga ON saga_log (saga_id, seq);
"""

UNFINISHED = ("running", "compensating")


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        self.db.reset()

    def create(self, saga_id: str, key: str | None, request: dict, steps: list[str]) -> tuple[dict, bool]:
        """A new saga with its steps pending, or the one already made under ``key``; (saga, existed)."""
        now = time.time()
        with self.db.tx() as conn:
            if key is not None:
                row = conn.execute("SELECT id, request FROM sagas WHERE idempotency_key = ?", (key,)).fetchone()
                if row is not None:
                    if json.loads(row["request"]) != request:
                        raise ApiError(422, "IDEMPOTENCY_KEY_REUSED", "Цей Idempotency-Key вже використано для "
                                       "іншого замовлення; потрібен новий ключ",
                                       [{"field": "Idempotency-Key", "message": "Тіло запиту відрізняється"}])
                    return _saga(conn, row["id"]), True
            conn.execute("INSERT INTO sagas (id, idempotency_key, status, order_status, request, created_at, updated_at)"
                         " VALUES (?, ?, 'running', 'approval_pending', ?, ?, ?)",
                         (saga_id, key, json.dumps(request, ensure_ascii=False), now, now))
            conn.executemany("INSERT INTO saga_steps (saga_id, idx, name, status) VALUES (?, ?, ?, 'pending')",
                             [(saga_id, n, name) for n, name in enumerate(steps)])
            log(conn, saga_id, None, "saga_started", f"{len(steps)} steps")
            return _saga(conn, saga_id), False

    def get(self, saga_id: str) -> dict:
        with self.db.tx() as conn:
            return _saga(conn, saga_id)

    def list(self, status: str | None, limit: int) -> list[dict]:
        where, args = where_clause([("status = ?", status)])
        with self.db.tx() as conn:
            ids = [r[0] for r in conn.execute(f"SELECT id FROM sagas {where} ORDER BY created_at DESC, id LIMIT ?",
                                              [*args, limit])]
            return [_saga(conn, i, with_log=False) for i in ids]

    def unfinished(self) -> list[str]:
        with self.db.tx() as conn:
            return [r[0] for r in conn.execute("SELECT id FROM sagas WHERE status IN (?, ?) ORDER BY created_at",
                                               UNFINISHED)]

    def update(self, saga_id: str, *, step: tuple[int, str] | None = None, event: tuple[str, str] | None = None,
               saga: dict[str, Any] | None = None, **step_fields: Any) -> None:
        """Change a step and/or the saga and add a line to its log, in one transaction."""
        now = time.time()
        with self.db.tx() as conn:
            if step is not None and step_fields:
                fields = {k: (json.dumps(v, ensure_ascii=False) if k == "result" and v is not None else v)
                          for k, v in step_fields.items()}
                sets = ", ".join(f"{k} = ?" for k in fields)
                conn.execute(f"UPDATE saga_steps SET {sets} WHERE saga_id = ? AND idx = ?",
                             [*fields.values(), saga_id, step[0]])
            if saga:
                sets = ", ".join(f"{k} = ?" for k in saga)
                conn.execute(f"UPDATE sagas SET {sets}, updated_at = ? WHERE id = ?", [*saga.values(), now, saga_id])
            if event is not None:
                log(conn, saga_id, step[1] if step else None, event[0], event[1])


def log(conn: sqlite3.Connection, saga_id: str, step: str | None, kind: str, detail: str | None) -> None:
    conn.execute("INSERT INTO saga_log (saga_id, at, step, kind, detail) VALUES (?, ?, ?, ?, ?)",
                 (saga_id, time.time(), step, kind, detail))


def _saga(conn: sqlite3.Connection, saga_id: str, with_log: bool = True) -> dict:
    row = conn.execute("SELECT * FROM sagas WHERE id = ?", (saga_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Сагу {saga_id} не знайдено")
    started = row["created_at"]
    steps = [{"name": s["name"], "status": s["status"], "attempts": s["attempts"],
              "result": json.loads(s["result"]) if s["result"] else None, "error": s["error"],
              "started_at": _at(s["started_at"]), "finished_at": _at(s["finished_at"]),
              "compensated_at": _at(s["compensated_at"])}
             for s in conn.execute("SELECT * FROM saga_steps WHERE saga_id = ? ORDER BY idx", (saga_id,))]
    out = {"saga_id": row["id"], "status": row["status"], "order_status": row["order_status"],
           "request": json.loads(row["request"]), "total": row["total"], "failed_step": row["failed_step"],
           "reason": row["reason"], "created_at": _at(row["created_at"]), "updated_at": _at(row["updated_at"]),
           "finished_at": _at(row["finished_at"]),
           "duration_ms": round(((row["finished_at"] or time.time()) - started) * 1000, 1), "steps": steps}
    if with_log:
        out["log"] = [{"seq": r["seq"], "at": _at(r["at"]), "t_ms": round((r["at"] - started) * 1000, 1),
                       "step": r["step"], "kind": r["kind"], "detail": r["detail"]}
                      for r in conn.execute("SELECT * FROM saga_log WHERE saga_id = ? ORDER BY seq", (saga_id,))]
    return out


def _at(ts: float | None) -> str | None:
    return iso(ts, ms=True) if ts else None
