"""Memory as Binder counts it: PSS (proportional set size), where shared pages are counted once."""
from __future__ import annotations

from pathlib import Path


def _kib(path: str, field: str) -> int | None:
    """``field`` (a line like ``Pss:   4242 kB``) of a /proc file, in bytes; None if gone or unreadable."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def pss_bytes(pid: int) -> int | None:
    """PSS of one process, from ``/proc/<pid>/smaps_rollup``."""
    return _kib(f"/proc/{pid}/smaps_rollup", "Pss:")


def rss_bytes(pid: int) -> int | None:
    """RSS of one process, from ``/proc/<pid>/status``."""
    return _kib(f"/proc/{pid}/status", "VmRSS:")
