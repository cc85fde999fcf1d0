"""A service's own SQLite database: one connection, one lock, a transaction per use.

Requests of a lab service are few and short, so serialising them through one
connection is simpler than a pool and never meets ``database is locked``.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


class Database:
    def __init__(self, path: Path | str, schema: str, seed: Callable[[sqlite3.Connection], None] | None = None) -> None:
        self.path = str(path)
        self.schema = schema
        self.seed = seed
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(schema)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one transaction: committed on success, rolled back on any error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def extend(self, schema: str) -> None:
        """Add tables a shared concern keeps in the service's database (the event outbox and inbox)."""
        with self._lock:
            self._conn.executescript(schema)
            if schema not in self.schema:
                self.schema += schema

    def is_empty(self, table: str) -> bool:
        with self.tx() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0

    def reset(self) -> None:
        """Drop every table and restore the schema and the seed data."""
        with self.tx() as conn:
            conn.execute("PRAGMA defer_foreign_keys = ON")
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            for table in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        with self._lock:
            self._conn.executescript(self.schema)
        if self.seed:
            with self.tx() as conn:
                self.seed(conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def where_clause(conditions: list[tuple[str, Any]]) -> tuple[str, list]:
    """``WHERE a = ? AND b = ?`` (and its arguments) from the conditions whose value is not None.

    List endpoints filter on optional query parameters; a parameter left out adds nothing.
    """
    used = [(sql, value) for sql, value in conditions if value is not None]
    if not used:
        return "", []
    return "WHERE " + " AND ".join(sql for sql, _ in used), [value for _, value in used]
