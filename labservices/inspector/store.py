"""The inspector's own SQLite database: bins and the requests each one captured (a capped list per bin)."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends

from labservices.common import ApiError, Database, clock
from labservices.common.deps import store_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS bins (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    response TEXT NOT NULL,
    next_number INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    bin_id TEXT NOT NULL REFERENCES bins(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    body_size INTEGER NOT NULL,
    client TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (bin_id, number)
);
"""


def iso(ts: float) -> str:
    return clock.iso(ts, ms=True)


class Store:
    def __init__(self, path: Path | str) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        """Delete every bin and what it caught."""
        with self.db.tx() as conn:
            conn.execute("DELETE FROM requests")
            conn.execute("DELETE FROM bins")

    def create_bin(self, name: str, response: dict, max_bins: int) -> dict:
        with self.db.tx() as conn:
            if conn.execute("SELECT COUNT(*) FROM bins").fetchone()[0] >= max_bins:
                raise ApiError(409, "LIMIT_REACHED", f"Уже є {max_bins} бінів; видаліть непотрібні "
                               "(DELETE /api/bins/{id})")
            bin_id = str(uuid.uuid4())
            conn.execute("INSERT INTO bins (id, name, response, created_at) VALUES (?,?,?,?)",
                         (bin_id, name, json.dumps(response), time.time()))
            return _bin(conn, _bin_row(conn, bin_id))

    def list_bins(self) -> list[dict]:
        with self.db.tx() as conn:
            return [_bin(conn, r) for r in conn.execute("SELECT * FROM bins ORDER BY created_at")]

    def get_bin(self, bin_id: str) -> dict:
        with self.db.tx() as conn:
            return _bin(conn, _bin_row(conn, bin_id))

    def set_response(self, bin_id: str, response: dict) -> dict:
        with self.db.tx() as conn:
            _bin_row(conn, bin_id)
            conn.execute("UPDATE bins SET response = ? WHERE id = ?", (json.dumps(response), bin_id))
            return _bin(conn, _bin_row(conn, bin_id))

    def delete_bin(self, bin_id: str) -> None:
        with self.db.tx() as conn:
            if conn.execute("DELETE FROM bins WHERE id = ?", (bin_id,)).rowcount == 0:
                raise _missing(bin_id)

    def capture(self, bin_id: str, method: str, path: str, query: str, headers: list[tuple[str, str]],
                body: bytes, keep: int, client: str, cap: int) -> tuple[int, dict]:
        """Store a request (the oldest beyond ``cap`` go); the bin's configured answer and the request's number."""
        with self.db.tx() as conn:
            row = _bin_row(conn, bin_id)
            number = row["next_number"]
            conn.execute("UPDATE bins SET next_number = ? WHERE id = ?", (number + 1, bin_id))
            conn.execute(
                "INSERT INTO requests (bin_id, number, method, path, query, headers, body, body_size, client,"
                " received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (bin_id, number, method, path, query, json.dumps(headers), body[:keep], len(body), client,
                 time.time()))
            conn.execute("DELETE FROM requests WHERE bin_id = ? AND number <= ?", (bin_id, number - cap))
            return number, json.loads(row["response"])

    def list_requests(self, bin_id: str, since: int, limit: int) -> list[dict]:
        with self.db.tx() as conn:
            _bin_row(conn, bin_id)
            rows = conn.execute("SELECT * FROM requests WHERE bin_id = ? AND number > ? ORDER BY number LIMIT ?",
                                (bin_id, since, limit)).fetchall()
            return [_request(r) for r in rows]

    def get_request(self, bin_id: str, number: int) -> dict:
        with self.db.tx() as conn:
            _bin_row(conn, bin_id)
            row = conn.execute("SELECT * FROM requests WHERE bin_id = ? AND number = ?", (bin_id, number)).fetchone()
            if row is None:
                raise ApiError(404, "NOT_FOUND", f"Запиту {number} у біні {bin_id} немає (можливо, його витіснили новіші)")
            return {**_request(row), "raw_body": bytes(row["body"]), "raw_headers": json.loads(row["headers"])}

    def clear_requests(self, bin_id: str) -> None:
        with self.db.tx() as conn:
            _bin_row(conn, bin_id)
            conn.execute("DELETE FROM requests WHERE bin_id = ?", (bin_id,))


StoreDep = Annotated[Store, Depends(store_of)]


def _missing(bin_id: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"Біна {bin_id} немає; створіть його: POST /api/bins")


def _bin_row(conn, bin_id: str):
    row = conn.execute("SELECT * FROM bins WHERE id = ?", (bin_id,)).fetchone()
    if row is None:
        raise _missing(bin_id)
    return row


def _bin(conn, row) -> dict[str, Any]:
    count = conn.execute("SELECT COUNT(*) FROM requests WHERE bin_id = ?", (row["id"],)).fetchone()[0]
    return {"id": row["id"], "name": row["name"], "response": json.loads(row["response"]), "request_count": count,
            "created_at": iso(row["created_at"])}


MAX_JSON_DEPTH = 64  # deeper bodies are shown as text only: parsing and answering them recurses


def parse_json(raw: bytes) -> Any:
    """A captured body as JSON, or None when it is not JSON or is nested past ``MAX_JSON_DEPTH``.

    Anyone may send anything to a bin, so the parser meets bodies made to break it:
    ``[[[[...]]]]`` 30,000 deep (past Python's recursion limit), numbers of 5,000 digits.
    """
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    stack = [(parsed, 1)]
    while stack:  # iterative: the depth check must not recurse either
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return None
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return parsed


def _request(row) -> dict[str, Any]:
    raw = bytes(row["body"])
    text = raw.decode("utf-8", "replace")
    parsed = parse_json(raw) if raw and row["body_size"] == len(raw) else None
    headers: dict[str, str] = {}
    for name, value in json.loads(row["headers"]):
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return {"number": row["number"], "method": row["method"], "path": row["path"], "query": row["query"],
            "headers": headers, "body": text, "json": parsed, "body_size": row["body_size"],
            "truncated": row["body_size"] > len(raw), "client": row["client"], "received_at": iso(row["received_at"])}
