"""The grader's protocol with a sandboxed child: JSON lines, and what the grader accepts as a reply.

The grader drives: it sends one request at a time (run a cell, list the names, call a
function, serve an app) and waits for exactly one reply with the request's ``id``::

    -> {"id": "…", "op": "cell", "index": 3, "source": "…"}   <- {"id": "…", "ok": false, "error": {…}}
    -> {"id": "…", "op": "names"}                               <- {"id": "…", "names": ["app", …]}
    -> {"id": "…", "op": "call", "name": "f", "args": [], "kwargs": {}}
                                                                <- {"id": "…", "ok": true, "value": …}
    -> {"id": "…", "op": "serve", "name": "app"}                <- {"id": "…", "ok": true}

The child runs the student's code in its own process, so anything the child writes may
have been written by that code. The grader therefore reads at most :data:`MAX_LINE`
bytes per line and checks every reply against the schema of the request it answers
(types, :data:`MAX_DEPTH` levels of nesting, bounded strings, known kinds) with
:func:`check_reply`; what fails is a :class:`ProtocolError`, and the submission is
stopped. No reply carries a process id, a signal or a URL the grader would act on.
"""
from __future__ import annotations

import json

MAX_LINE = 4 * 2**20  # one message, in bytes (the largest honest reply is about 100 KiB)
MAX_DEPTH = 64  # nesting of a returned value
MAX_NAMES = 5000
LIMITS = {"type": 120, "message": 500, "where": 120, "name": 200, "isolation": 300}
KINDS = ("exception", "not_implemented", "memory", "exited", "unserialisable", "not_callable", "missing",
         "too_large")
ISOLATION_PARTS = ("none", "namespaces", "own network", "new root", "read-only system", "unprivileged",
                   "no capabilities")


class ProtocolError(Exception):
    """A message from the child that is not a reply the grader asked for; the text says what was wrong."""


def encode(message: dict) -> bytes:
    return (json.dumps(message, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def depth_ok(value, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests at most ``limit`` lists and objects deep (checked with a stack, not recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return True


def decode(line: bytes) -> dict:
    """One line from the child as a JSON object, or ProtocolError."""
    if len(line) > MAX_LINE:
        raise ProtocolError(f"a message of more than {MAX_LINE // 2**20} MiB")
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        raise ProtocolError("a line that is not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message that is not a JSON object")
    if not depth_ok(message, MAX_DEPTH + 3):
        raise ProtocolError(f"a message nested more than {MAX_DEPTH} levels deep")
    return message


def _text(message: dict, key: str, required: bool = True) -> str:
    value = message.get(key, None if required else "")
    if not isinstance(value, str) or len(value) > LIMITS.get(key, LIMITS["message"]):
        raise ProtocolError(f"{key!r} is not text of at most {LIMITS.get(key, LIMITS['message'])} characters")
    return value


def _keys(message: dict, allowed: set[str]) -> None:
    extra = set(message) - allowed
    if extra:
        raise ProtocolError(f"unexpected fields {sorted(extra)[:3]}")


def _error(message: dict) -> dict:
    if message.get("kind") not in KINDS:
        raise ProtocolError("an error of an unknown kind")
    return {"kind": message["kind"], "type": _text(message, "type"), "message": _text(message, "message"),
            "where": _text(message, "where")}


def check_hello(message: dict) -> tuple[str, str]:
    """The child's first message (before any student code runs): how far it shut itself in, and why not further."""
    _keys(message, {"event", "isolation", "why"})
    if message.get("event") != "hello":
        raise ProtocolError("no hello first")
    isolation = _text(message, "isolation")
    why = message.get("why", "")
    if not isinstance(why, str) or len(why) > LIMITS["isolation"]:
        raise ProtocolError("a hello with a strange reason")
    if not all(part in ISOLATION_PARTS for part in isolation.split("+")):
        raise ProtocolError("an isolation the grader does not know")
    return isolation, why


def check_reply(message: dict, request: dict) -> dict:
    """``message`` if it is a valid reply to ``request``, normalised; else ProtocolError."""
    if message.get("id") != request["id"]:
        raise ProtocolError("a reply to a request the grader did not send")
    op = request["op"]
    if op == "names":
        _keys(message, {"id", "names"})
        names = message.get("names")
        if (not isinstance(names, list) or len(names) > MAX_NAMES
                or not all(isinstance(n, str) and len(n) <= LIMITS["name"] for n in names)):
            raise ProtocolError("names that are not a list of short strings")
        return {"names": names}
    if not isinstance(message.get("ok"), bool):
        raise ProtocolError("a reply without ok: true or false")
    if op == "cell":
        _keys(message, {"id", "ok", "error"})
        if message["ok"]:
            if "error" in message:
                raise ProtocolError("an error in a successful reply")
            return {"ok": True}
        error = message.get("error")
        if not isinstance(error, dict):
            raise ProtocolError("a failed cell without its error")
        _keys(error, {"kind", "type", "message", "where"})
        return {"ok": False, "error": _error(error)}
    if op in ("call", "serve"):
        if message["ok"]:
            _keys(message, {"id", "ok", "value"} if op == "call" else {"id", "ok"})
            if op == "call" and "value" not in message:
                raise ProtocolError("a successful call without a value")
            if op == "call" and not depth_ok(message["value"]):
                raise ProtocolError(f"a value nested more than {MAX_DEPTH} levels deep")
            return {"ok": True, "value": message.get("value")}
        _keys(message, {"id", "ok", "kind", "type", "message", "where"})
        return {"ok": False, **_error(message)}
    raise ProtocolError(f"a reply to an unknown request {op!r}")


class LineBuffer:
    """Bytes from a pipe cut into lines, never holding more than :data:`MAX_LINE` of one."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self.buf = bytearray()

    def feed(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > self.limit and b"\n" not in self.buf[: self.limit + 1]:
            raise ProtocolError(f"a line of more than {self.limit // 2**20} MiB")

    def line(self) -> bytes | None:
        end = self.buf.find(b"\n")
        if end < 0:
            return None
        line = bytes(self.buf[:end])
        del self.buf[: end + 1]
        return line
