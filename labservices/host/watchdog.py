"""Catches code that blocks the shared event loop, and names the service and the line.

Every service in the host shares one asyncio loop: a handler that sleeps, reads a big file or
waits on a lock without ``await`` stops every other service for that long. A thread pings the
loop ten times a second; when an answer is late by more than ``threshold`` it takes the loop
thread's stack (``sys._current_frames``), blames the lab service whose code is on it, logs a
warning in that service's log and keeps the record for ``GET /loop`` of the host.

A late answer is only a block when the loop thread itself held the time: busy on the CPU for
most of the delay, or stopped in a call outside the event loop (a sleep, a blocking read). When
it mostly waited for a CPU that other processes had (a loaded machine), the delay is recorded
as ``starved`` and blamed on nobody.
"""
from __future__ import annotations

import gc
import logging
import os
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
    cpu_ms: float | None = None  # what the loop thread spent on the CPU meanwhile


def _stat(native_id: int) -> list[str] | None:
    try:
        return open(f"/proc/self/task/{native_id}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_s(native_id: int) -> float | None:
    """CPU time (user + system) one thread of this process has used, from /proc (Linux)."""
    fields = _stat(native_id)
    try:
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else None
    except (ValueError, IndexError):
        return None


def _sleeping(native_id: int) -> bool:
    """True when the thread is stopped in a system call (a sleep, a blocking read), not waiting for a CPU."""
    fields = _stat(native_id)
    return bool(fields) and fields[0] in ("S", "D")


IDLE_FRAMES = ("select", "poll", "_run_once")  # where an idle loop waits for the next event


class LoopWatchdog:
    def __init__(self, loop, packages: dict[str, str], threshold_s: float = 0.25, interval_s: float = 0.1) -> None:
        self.loop = loop
        self.packages = packages  # python package -> service name
        self.threshold_s = threshold_s
        self.interval_s = interval_s
        self.blocks: deque[Block] = deque(maxlen=50)
        self.count = 0
        self.starved = 0
        self.max_lag_ms = 0.0
        self._loop_thread = threading.get_ident()
        self._loop_native = threading.get_native_id()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-watchdog", daemon=True)
        self.full_collections = 0  # since the freeze, once there is one
        self.gc_max_pause_ms = 0.0
        self.startup_gc: dict | None = None  # the same two figures for start-up, set by freeze()
        self._gc_started = 0.0

    def start(self) -> "LoopWatchdog":
        self._thread.start()
        gc.callbacks.append(self._on_gc)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        """Times the garbage collector's full collections: each one stops every service of the host."""
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.full_collections += 1
            self.gc_max_pause_ms = max(self.gc_max_pause_ms, (time.perf_counter() - self._gc_started) * 1000)

    def freeze(self) -> None:
        """Moves what start-up built out of the collector's sight, and times full collections afresh.

        The services' apps, routes and models live as long as the host. A full collection walked
        all of them (130-200 ms, while every service of the host stood still; the watchdog once
        caught 448 ms on a busy machine); after ``gc.freeze`` (a pointer move) it walks only what
        was made since. The few hundred cycles start-up left behind stay, and so does the first
        app of a service restarted later: bounded by what start-up built. Start-up's own full
        collections (imports make many objects) are kept apart, so ``report`` shows what serving costs.
        """
        gc.freeze()
        self.startup_gc = {"full_collections": self.full_collections, "max_pause_ms": round(self.gc_max_pause_ms, 1)}
        self.full_collections, self.gc_max_pause_ms = 0, 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            answered = threading.Event()
            sent = time.perf_counter()
            cpu_before = _cpu_s(self._loop_native)
            try:
                self.loop.call_soon_threadsafe(answered.set)
            except RuntimeError:
                return  # the loop is closed
            if answered.wait(self.threshold_s):
                self.max_lag_ms = max(self.max_lag_ms, (time.perf_counter() - sent) * 1000)
                continue
            frame = sys._current_frames().get(self._loop_thread)
            sleeping = _sleeping(self._loop_native)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
            service, where = self._blame(frame)
            while not answered.wait(1.0):
                if self._stop.is_set():
                    return
            duration = (time.perf_counter() - sent) * 1000
            cpu_after = _cpu_s(self._loop_native)
            cpu_ms = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000
            self.max_lag_ms = max(self.max_lag_ms, duration)
            idle = frame is not None and frame.f_code.co_name in IDLE_FRAMES
            busy = cpu_ms is None or cpu_ms >= duration / 2
            if idle or not (busy or sleeping):
                self.starved += 1  # the loop was waiting for a CPU the machine gave others, not held by a service
                continue
            self.count += 1
            self.blocks.append(Block(time.time(), round(duration, 1), service, where, stack[-3000:],
                                     None if cpu_ms is None else round(cpu_ms, 1)))
            log.warning("event loop blocked for %.0f ms at %s", duration, where,
                        extra={"service": service, "blocked_ms": round(duration, 1), "where": where,
                               "cpu_ms": None if cpu_ms is None else round(cpu_ms, 1),
                               "innermost": _innermost(frame)})

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
        return {"threshold_ms": self.threshold_s * 1000, "blocked": self.count, "starved": self.starved,
                "max_lag_ms": round(self.max_lag_ms, 1), "blocks": [asdict(b) for b in self.blocks],
                "gc": {"frozen_objects": gc.get_freeze_count(), "full_collections": self.full_collections,
                       "max_pause_ms": round(self.gc_max_pause_ms, 1), "startup": self.startup_gc}}


def _innermost(frame) -> str:
    if frame is None:
        return "unknown"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
