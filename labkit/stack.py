"""The local stack: start, check, stop and reset every lab component.

State lives in ``$LAB_HOME`` (default ``~/.integration-lab``): ``state.json``
records what `lab up` started (pid, process start time, address, log file), so
`lab down` stops exactly that and a crash leaves nothing `lab up` cannot recover
from. Components already running elsewhere (compose, Binder, another address in
``LAB_<NAME>_URL``) are only checked, never started or stopped.
"""
from __future__ import annotations

import fcntl
import json
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import components as components_mod
from .procs import alive, port_open, rss_bytes, spawn, start_time, terminate, wait_until
from .config import lab_home, port_of

ROOT = Path(__file__).resolve().parent.parent


class StackError(RuntimeError):
    """A component could not be started or reached; the message says what to do."""


@dataclass
class ComponentStatus:
    name: str
    kind: str
    url: str
    health: str  # healthy | unhealthy | stopped | external
    pid: int | None = None
    rss_mb: float | None = None
    managed: bool = False
    log: str | None = None
    note: str = ""
    details: dict = field(default_factory=dict)  # extra addresses (AMQP URL, management API, ...)

    def as_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[str], None]


class Stack:
    def __init__(self, home: Path | None = None, components: list | None = None) -> None:
        self.home = Path(home) if home else lab_home()
        self.components = components if components is not None else components_mod.COMPONENTS
        self.state_file = self.home / "state.json"
        self.logs_dir = self.home / "logs"

    # --- state -----------------------------------------------------------------

    def _read_state(self) -> dict:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {"components": {}}
        if not isinstance(state, dict) or not isinstance(state.get("components"), dict):
            return {"components": {}}
        return state

    def _write_state(self, state: dict) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    @contextmanager
    def _locked(self) -> Iterator[dict]:
        """Hold the stack's lock and yield its state, saved on exit (two `lab up` never race)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "stack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read_state()
            try:
                yield state
            finally:
                self._write_state(state)

    def _record_alive(self, record: dict | None) -> bool:
        return bool(record) and alive(record.get("pid"), record.get("started"))

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    # --- commands --------------------------------------------------------------

    def up(self, timeout: float = 60.0, progress: Progress | None = None) -> list[ComponentStatus]:
        """Start whatever is not running yet, wait until every component is ready."""
        say = progress or (lambda _msg: None)
        pending: dict[str, tuple] = {}
        with self._locked() as state:
            records = state["components"]
            for comp in self.components:
                record = records.get(comp.name)
                if comp.external:
                    records.pop(comp.name, None)
                    say(f"{comp.name}: external at {comp.address}, checking only")
                    continue
                if self._record_alive(record):
                    say(f"{comp.name}: already running (pid {record['pid']})")
                    pending[comp.name] = (comp, record["pid"])
                    continue
                if record:
                    say(f"{comp.name}: recovering from stale state (pid {record.get('pid')} is gone)")
                    records.pop(comp.name, None)
                self._ensure_port_free(comp)
                if hasattr(comp, "prepare"):
                    comp.prepare(self.home, say)  # one-off work before the first start (fetch, format)
                pid = self._launch(comp)
                records[comp.name] = {
                    "kind": comp.kind, "pid": pid, "started": start_time(pid),
                    "url": comp.address, "log": str(self.log_path(comp.name)),
                    "launched_at": time.time(),
                }
                say(f"{comp.name}: started (pid {pid}), waiting for it to be ready")
                pending[comp.name] = (comp, pid)

        failures = []
        deadline = time.monotonic() + timeout
        for comp in self.components:
            if comp.name not in pending and not comp.external:
                continue
            pid = pending.get(comp.name, (None, None))[1]
            ok = wait_until(comp.ready, timeout=max(0.5, deadline - time.monotonic()), while_alive=pid)
            if ok:
                say(f"{comp.name}: ready at {comp.address}")
            else:
                failures.append(self._why_not_ready(comp, pid))
        if failures:
            raise StackError("\n\n".join(failures))
        return self.status()

    def _ensure_port_free(self, comp) -> None:
        port = port_of(comp.address)
        # A process that has just died (a stale record) may hold its port for a moment longer.
        if wait_until(lambda: not port_open("127.0.0.1", port), timeout=2.0):
            return
        owner = comp.identify() if hasattr(comp, "identify") else None
        env = getattr(comp, "address_env", None) or components_mod.config.env_name(comp.name)  # brokers name their own
        hint = f"set {env} to another address"
        if owner == comp.name:
            raise StackError(
                f"{comp.name}: a {comp.name} service that this lab did not start already answers on port {port}. "
                f"Stop it (or run `lab down` with the LAB_HOME it was started with), or {hint}."
            )
        raise StackError(f"{comp.name}: port {port} is taken by another program. Free the port, or {hint}.")

    def _launch(self, comp) -> int:
        log = self.log_path(comp.name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as fh:
            fh.write(f"\n--- lab up {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
        proc = spawn(comp.command(), env=comp.environment(self.home), log_path=log, cwd=ROOT)
        return proc.pid

    def _why_not_ready(self, comp, pid: int | None) -> str:
        if pid is not None and not alive(pid):
            reason = f"{comp.name} exited during start-up"
        elif comp.external:
            reason = f"{comp.name} is not answering at {comp.address}"
        else:
            reason = f"{comp.name} did not become ready at {comp.address} in time"
        tail = self.tail(comp.name, 15)
        where = f"\nLast lines of {self.log_path(comp.name)}:\n{tail}" if tail else ""
        return f"{reason}.{where}\nSee `lab logs {comp.name}`; fix the cause and run `lab up` again."

    def down(self, progress: Progress | None = None) -> list[str]:
        """Stop exactly what `lab up` started; returns the names stopped."""
        say = progress or (lambda _msg: None)
        stopped = []
        with self._locked() as state:
            records = state["components"]
            for name in list(records):
                record = records.pop(name)
                if terminate(record.get("pid", 0), record.get("started")):
                    stopped.append(name)
                    say(f"{name}: stopped (pid {record['pid']})")
                else:
                    say(f"{name}: was not running")
                comp = next((c for c in self.components if c.name == name), None)
                if comp is not None and hasattr(comp, "cleanup"):
                    comp.cleanup(self.home, record, say)  # helpers a component leaves behind (epmd)
        return stopped

    def status(self) -> list[ComponentStatus]:
        records = self._read_state()["components"]
        out = []
        for comp in self.components:
            record = records.get(comp.name) or {}
            managed = self._record_alive(record)
            pid = record.get("pid") if managed else None
            if comp.external:
                health = "external" if comp.ready() else "unhealthy"
            elif comp.ready():
                health = "healthy"
            else:
                health = "unhealthy" if managed or port_open("127.0.0.1", port_of(comp.address)) else "stopped"
            rss = rss_bytes(pid)
            out.append(ComponentStatus(
                name=comp.name, kind=comp.kind, url=comp.address, health=health, pid=pid,
                rss_mb=round(rss / 2**20, 1) if rss else None, managed=managed,
                log=record.get("log") if record else None, details=comp.describe(),
                note="" if managed or comp.external or health == "stopped" else "not started by lab",
            ))
        return out

    def reset(self, progress: Progress | None = None) -> list[str]:
        """Restore the seed data of every running component; name the ones that are not running."""
        say = progress or (lambda _msg: None)
        done, down = [], []
        for comp in self.components:
            if not comp.ready():
                down.append(comp.name)
                say(f"{comp.name}: not running, skipped")
                continue
            comp.reset()
            done.append(comp.name)
            say(f"{comp.name}: seed data restored")
        if down:
            raise StackError(f"{', '.join(down)} not running, so not reset (the others were: {', '.join(done) or 'none'}). "
                             "Start the stack with `lab up`, then run `lab reset` again.")
        return done

    def tail(self, name: str, lines: int = 50) -> str:
        path = self.log_path(name)
        try:
            with open(path, errors="replace") as fh:
                return "".join(deque(fh, maxlen=lines))
        except OSError:
            return ""
