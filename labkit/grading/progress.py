"""Progress of a grading batch on stderr: a bar on a terminal, one line per submission elsewhere."""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter

from . import text


class Progress:
    def __init__(self, total: int, stream=None, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.statuses: Counter = Counter()
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def update(self, student: str, status: str, score: int, max_score: int, seconds: float) -> None:
        with self.lock:
            self.done += 1
            self.statuses[status] += 1
            if not self.enabled:
                return
            if self.tty:
                self.stream.write("\r" + self.bar() + "\x1b[K")
            else:
                width = len(str(self.total))
                self.stream.write(f"[{self.done:>{width}}/{self.total}] {text.clean(student, 60)}: {status}, "
                                  f"{score}/{max_score} ({seconds:.1f} s)\n")
            self.stream.flush()

    def bar(self, width: int = 30) -> str:
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0
        counts = " · ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        return (f"grading [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {counts}  "
                f"{elapsed:.0f} s, ~{left:.0f} s left")

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
