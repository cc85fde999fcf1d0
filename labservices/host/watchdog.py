"""Catches code that blocks the shared event loop, and names the service and the line.

Every service in the host shares one asyncio loop: a handler that sleeps, reads a big file or
waits on a lock without ``await`` stops every other service for that long. A thread pings the
loop ten times a second; when an answer is late by more than ``threshold`` it takes the loop
thread's stack (``sys._current_frames``), blames the lab service whose code is on it, logs a
warning in that service's log and keeps the record for ``GET /loop`` of the host.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import asdict, dataclass

log = logging.getLogger("labservices.host.watchdog")


@dataclass
class Block:
    at: float
    duration_ms: float
    service: str | None
    where: str  # the innermost frame of the lab's code: "labservices/shop/routes/products.py:42 in list_products"
    stack: str


class LoopWatchdog:
    def __init__(self, loop, packages: dict[str, str], threshold_s: float = 0.25, interval_s: float = 0.1) -> None:
        self.loop = loop
        self.packages = packages  # python package -> service name
        self.threshold_s = threshold_s
        self.interval_s = interval_s
        self.blocks: deque[Block] = deque(maxlen=50)
        self.count = 0
        self.max_lag_ms = 0.0
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-watchdog", daemon=True)

    def start(self) -> "LoopWatchdog":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            answered = threading.Event()
            sent = time.perf_counter()
            try:
                self.loop.call_soon_threadsafe(answered.set)
            except RuntimeError:
                return  # the loop is closed
            if answered.wait(self.threshold_s):
                self.max_lag_ms = max(self.max_lag_ms, (time.perf_counter() - sent) * 1000)
                continue
            frame = sys._current_frames().get(self._loop_thread)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
            service, where = self._blame(frame)
            while not answered.wait(1.0):
                if self._stop.is_set():
                    return
            duration = (time.perf_counter() - sent) * 1000
            self.max_lag_ms = max(self.max_lag_ms, duration)
            self.count += 1
            self.blocks.append(Block(time.time(), round(duration, 1), service, where, stack[-3000:]))
            log.warning("event loop blocked for %.0f ms at %s", duration, where,
                        extra={"service": service, "blocked_ms": round(duration, 1), "where": where})

    def _blame(self, frame) -> tuple[str | None, str]:
        """The innermost frame from a service package: which service, which line."""
        innermost = None
        while frame is not None:
            module = frame.f_globals.get("__name__", "")
            for package, service in self.packages.items():
                if module == package or module.startswith(package + "."):
                    code = frame.f_code
                    return service, f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
            if innermost is None:
                innermost = frame
            frame = frame.f_back
        if innermost is None:
            return None, "unknown"
        return None, f"{innermost.f_code.co_filename}:{innermost.f_lineno} in {innermost.f_code.co_name}"

    def report(self) -> dict:
        return {"threshold_ms": self.threshold_s * 1000, "blocked": self.count, "max_lag_ms": round(self.max_lag_ms, 1),
                "blocks": [asdict(b) for b in self.blocks]}
