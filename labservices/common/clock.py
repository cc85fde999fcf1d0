"""Timestamps as the lecture writes them: ISO 8601 in UTC with a ``Z``."""
from __future__ import annotations

import time
from datetime import datetime, timezone


def iso(ts: float | None = None, *, ms: bool = False) -> str:
    """``ts`` (epoch seconds, default now) as ``2024-02-08T10:30:45Z`` (``…45.123Z`` with ``ms``)."""
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc)
    if ms:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    """Now, to the second: the error envelope's ``timestamp``, a row's ``created_at``."""
    return iso()
