"""The middleware's own SQLite database: executions, their steps, and the dead letters.

An execution is one run of a workflow for one trigger (one order): unique per workflow and key,
which is what makes a replayed webhook do nothing twice. Each step keeps its status, attempts,
output and last error, so a replay from the dead-letter list starts at the failed step and reuses
what the steps before it produced (as n8n's "retry from the failed node").
"""
from __future__ import annotations

import json
import secrets
import time
from typing import Annotated, Any

from fastapi import Depends

from labservices.common import ApiError, Database
from labservices.common.clock import iso
from labservices.common.deps import store_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY, workflow TEXT NOT NULL, key TEXT NOT NULL, order_id TEXT, request_id TEXT NOT NULL,
    status TEXT NOT NULL, payload TEXT NOT NULL, failed_step TEXT, error TEXT, replays INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0, started_at REAL NOT NULL, finished_at REAL,
    UNIQUE (workflow, key)
);
CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL REFERENCES executions(id), position INTEGER NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, output TEXT, error TEXT,
    started_at REAL, finished_at REAL, PRIMARY KEY (execution_id, name)
);
CREATE TABLE IF NOT EXISTS triggers (
    name TEXT PRIMARY KEY, external_id TEXT NOT NULL, secret TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    execution_id TEXT PRIMARY KEY REFERENCES executions(id), step TEXT NOT NULL, error TEXT NOT NULL,
    dead_at REAL NOT NULL
);
"""


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        self.db.reset()

    def begin(self, workflow: str, key: str, order_id: str | None, request_id: str, payload: dict,
              steps: list[str]) -> tuple[dict, bool]:
        """A new execution (created True), or the one this trigger already started (a replayed webhook)."""
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM executions WHERE workflow = ? AND key = ?", (workflow, key)).fetchone()
            if row is not None:
                conn.execute("UPDATE executions SET duplicates = duplicates + 1 WHERE id = ?", (row["id"],))
                return _execution(conn, _found(conn, row["id"])), False
            execution_id = f"exe_{secrets.token_hex(6)}"
            conn.execute("INSERT INTO executions (id, workflow, key, order_id, request_id, status, payload, started_at)"
                         " VALUES (?,?,?,?,?, 'running', ?, ?)", (execution_id, workflow, key, order_id, request_id,
                                                                  json.dumps(payload, ensure_ascii=False), time.time()))
            conn.executemany("INSERT INTO steps (execution_id, position, name, status) VALUES (?,?,?, 'waiting')",
                             [(execution_id, i, name) for i, name in enumerate(steps)])
            return _execution(conn, _found(conn, execution_id)), True

    def execution(self, execution_id: str) -> dict:
        with self.db.tx() as conn:
            return _execution(conn, _found(conn, execution_id))

    def executions(self, workflow: str | None, status: str | None, order_id: str | None, limit: int) -> list[dict]:
        conditions = [(c, v) for c, v in (("workflow = ?", workflow), ("status = ?", status),
                                          ("order_id = ?", order_id)) if v is not None]
        where = ("WHERE " + " AND ".join(c for c, _ in conditions)) if conditions else ""
        with self.db.tx() as conn:
            rows = conn.execute(f"SELECT * FROM executions {where} ORDER BY started_at DESC LIMIT ?",
                                [*(v for _, v in conditions), limit]).fetchall()
            return [_execution(conn, r) for r in rows]

    def step_started(self, execution_id: str, name: str) -> int:
        """Count one more attempt of the step; the attempt's number."""
        with self.db.tx() as conn:
            conn.execute("UPDATE steps SET status = 'running', attempts = attempts + 1, "
                         "started_at = COALESCE(started_at, ?) WHERE execution_id = ? AND name = ?",
                         (time.time(), execution_id, name))
            return conn.execute("SELECT attempts FROM steps WHERE execution_id = ? AND name = ?",
                                (execution_id, name)).fetchone()[0]

    def step_failed(self, execution_id: str, name: str, error: str, final: bool) -> None:
        with self.db.tx() as conn:
            conn.execute("UPDATE steps SET status = ?, error = ?, finished_at = ? WHERE execution_id = ? AND name = ?",
                         ("error" if final else "retrying", error, time.time(), execution_id, name))

    def step_done(self, execution_id: str, name: str, output: dict) -> None:
        with self.db.tx() as conn:
            conn.execute("UPDATE steps SET status = 'success', output = ?, error = NULL, finished_at = ? "
                         "WHERE execution_id = ? AND name = ?",
                         (json.dumps(output, ensure_ascii=False), time.time(), execution_id, name))

    def finish(self, execution_id: str) -> None:
        with self.db.tx() as conn:
            conn.execute("UPDATE executions SET status = 'success', failed_step = NULL, error = NULL, finished_at = ? "
                         "WHERE id = ?", (time.time(), execution_id))
            conn.execute("DELETE FROM dead_letters WHERE execution_id = ?", (execution_id,))

    def dead(self, execution_id: str, step: str, error: str) -> None:
        """The run stops at ``step``: the execution is ``error`` and waits in the dead-letter list."""
        with self.db.tx() as conn:
            now = time.time()
            conn.execute("UPDATE executions SET status = 'error', failed_step = ?, error = ?, finished_at = ? "
                         "WHERE id = ?", (step, error, now, execution_id))
            conn.execute("INSERT INTO dead_letters VALUES (?,?,?,?) ON CONFLICT(execution_id) DO UPDATE SET "
                         "step = excluded.step, error = excluded.error, dead_at = excluded.dead_at",
                         (execution_id, step, error, now))

    def dead_letters(self) -> list[dict]:
        with self.db.tx() as conn:
            rows = conn.execute("SELECT d.*, e.workflow, e.order_id, e.replays FROM dead_letters d "
                                "JOIN executions e ON e.id = d.execution_id ORDER BY d.dead_at DESC").fetchall()
            return [{"execution_id": r["execution_id"], "workflow": r["workflow"], "order_id": r["order_id"],
                     "step": r["step"], "error": r["error"], "replays": r["replays"], "dead_at": iso(r["dead_at"], ms=True)}
                    for r in rows]

    def reopen(self, execution_id: str) -> dict:
        """Take an execution off the dead-letter list to run it again from its failed step (409 if not dead)."""
        with self.db.tx() as conn:
            row = _found(conn, execution_id)
            if conn.execute("SELECT 1 FROM dead_letters WHERE execution_id = ?", (execution_id,)).fetchone() is None:
                raise ApiError(409, "NOT_DEAD_LETTERED", f"Виконання {execution_id} не в dead letters (статус "
                               f"{row['status']}): повторювати нічого")
            conn.execute("DELETE FROM dead_letters WHERE execution_id = ?", (execution_id,))
            conn.execute("UPDATE executions SET status = 'running', replays = replays + 1, finished_at = NULL "
                         "WHERE id = ?", (execution_id,))
            conn.execute("UPDATE steps SET status = 'waiting', attempts = 0 WHERE execution_id = ? AND status != "
                         "'success'", (execution_id,))
            return _execution(conn, _found(conn, execution_id))

    def save_trigger(self, name: str, external_id: str, secret: str) -> None:
        with self.db.tx() as conn:
            conn.execute("INSERT OR REPLACE INTO triggers VALUES (?,?,?,?)", (name, external_id, secret, time.time()))

    def trigger(self, name: str) -> dict | None:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM triggers WHERE name = ?", (name,)).fetchone()
            return dict(row) if row else None

    def trigger_secrets(self, name: str) -> list[str]:
        with self.db.tx() as conn:
            return [r[0] for r in conn.execute("SELECT secret FROM triggers WHERE name LIKE ?", (f"{name}%",))]

    def interrupted(self) -> list[str]:
        """Executions a stop left running: they go on when the service starts again."""
        with self.db.tx() as conn:
            return [r[0] for r in conn.execute("SELECT id FROM executions WHERE status = 'running'")]


def _found(conn, execution_id: str):
    row = conn.execute("SELECT * FROM executions WHERE id = ?", (execution_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Виконання {execution_id} немає")
    return row


def _execution(conn, row) -> dict:
    steps = conn.execute("SELECT * FROM steps WHERE execution_id = ? ORDER BY position", (row["id"],)).fetchall()
    finished = row["finished_at"]
    return {"id": row["id"], "workflow": row["workflow"], "key": row["key"], "order_id": row["order_id"],
            "request_id": row["request_id"], "status": row["status"], "failed_step": row["failed_step"],
            "error": row["error"], "replays": row["replays"], "duplicates": row["duplicates"],
            "payload": json.loads(row["payload"]), "started_at": iso(row["started_at"], ms=True),
            "finished_at": iso(finished, ms=True) if finished else None,
            "duration_ms": round((finished - row["started_at"]) * 1000, 1) if finished else None,
            "steps": [_step(s) for s in steps]}


def _step(row) -> dict[str, Any]:
    started, finished = row["started_at"], row["finished_at"]
    return {"name": row["name"], "status": row["status"], "attempts": row["attempts"],
            "output": json.loads(row["output"]) if row["output"] else None, "error": row["error"],
            "started_at": iso(started, ms=True) if started else None,
            "duration_ms": round((finished - started) * 1000, 1) if started and finished else None}


StoreDep = Annotated[Store, Depends(store_of)]
