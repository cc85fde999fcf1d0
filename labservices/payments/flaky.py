"""A sandbox switch for ex05: make the next ``POST /api/payment_intents`` calls fail on purpose.

The shop's chaos switch fails a request before it reaches the handler, so a retry never
creates anything twice. The failures that make ``Idempotency-Key`` necessary are the other
kind: the payment *was* created, and then the answer was lost (a 500 after the commit, or
an answer slower than the client's timeout). This switch serves both kinds, in the order
given, and keeps a journal of every call (time, key, outcome) so a checker can see the
client's backoff, its ``Retry-After`` pauses and whether it reused its key.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from .models import FlakyCall, FlakyConfig, FlakyState

JOURNAL_SIZE = 200


class Flaky:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure(FlakyConfig())

    def configure(self, config: FlakyConfig) -> None:
        with self._lock:
            self.config = config
            self.failures = deque(config.failures)
            self.journal: deque[FlakyCall] = deque(maxlen=JOURNAL_SIZE)

    def take(self) -> str | None:
        """The failure this call gets, if any is left."""
        with self._lock:
            return self.failures.popleft() if self.failures else None

    def record(self, at: float, key: str | None, outcome: str, status: int, intent_id: str | None) -> None:
        with self._lock:
            self.journal.append(FlakyCall(at=at, idempotency_key=key, outcome=outcome, status=status,
                                          intent_id=intent_id))

    def state(self) -> FlakyState:
        with self._lock:
            return FlakyState(failures=list(self.failures), retry_after_s=self.config.retry_after_s,
                              hold_s=self.config.hold_s, journal=list(self.journal))

    @staticmethod
    def now() -> float:
        return time.time()
