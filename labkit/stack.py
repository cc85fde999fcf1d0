"""The local stack: start, check, stop and reset every lab component, or one of them.

State lives in ``$LAB_HOME`` (default ``~/.integration-lab``): ``state.json`` records what
`lab up` started (pid, process start time, address, log file), so `lab down` stops exactly
that and a crash leaves nothing `lab up` cannot recover from. The brokers are processes of
their own; every HTTP service runs inside one host process (``labservices.host``) that the
stack starts and then asks, over its control API, to stop, start, restart or isolate one
service. Components already running elsewhere (compose, Binder, another address in
``LAB_<NAME>_URL``) are only checked, never started or stopped.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal as signals
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import requests

from labservices.host.memory import pss_bytes as process_pss

from . import components as components_mod
from .config import env_name, lab_home, port_of
from .errors import StackError
from .procs import alive, port_open, pss_bytes, rss_bytes, spawn, start_time, terminate, wait_until

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["Stack", "StackError", "ComponentStatus", "ROOT"]


@dataclass
class ComponentStatus:
    name: str
    kind: str
    url: str
    health: str  # healthy | unhealthy | stopped | external
    state: str = ""  # running | stopped | isolated | frozen | failed | restarting | starting | external
    pid: int | None = None
    rss_mb: float | None = None
    pss_mb: float | None = None
    managed: bool = False
    log: str | None = None
    note: str = ""
    details: dict = field(default_factory=dict)  # extra addresses (AMQP URL, management API, ...)

    def as_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[str], None]
SIGNALS = {"KILL": signals.SIGKILL, "STOP": signals.SIGSTOP, "CONT": signals.SIGCONT, "TERM": signals.SIGTERM}


def _mb(value: int | None) -> float | None:
    return round(value / 2**20, 1) if value else None


class Stack:
    def __init__(self, home: Path | None = None, components: list | None = None) -> None:
        self.home = Path(home) if home else lab_home()
        self.components = components if components is not None else components_mod.components()
        self.state_file = self.home / "state.json"
        self.logs_dir = self.home / "logs"

    # --- parts ---------------------------------------------------------------------

    @property
    def host(self) -> components_mod.HostSpec | None:
        return next((c for c in self.components if c.kind == "host"), None)

    def component(self, name: str):
        try:
            return components_mod.by_name(name, self.components)
        except KeyError as exc:
            raise StackError(str(exc.args[0])) from None

    def _is_hosted(self, comp) -> bool:
        return comp.kind == "service" and self.host is not None and not comp.external

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

    def _record(self, name: str) -> dict | None:
        record = self._read_state()["components"].get(name)
        return record if self._record_alive(record) else None

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    # --- the whole stack ---------------------------------------------------------

    def up(self, timeout: float = 60.0, progress: Progress | None = None, only: list[str] | None = None,
           ) -> list[ComponentStatus]:
        """Start whatever is not running yet (of ``only``, if given) and wait until it is ready."""
        say = progress or (lambda _msg: None)
        chosen = [c for c in self.components if only is None or c.name in only]
        if any(self._is_hosted(c) for c in chosen) and self.host not in chosen:
            chosen.insert(next(i for i, c in enumerate(chosen) if c.kind == "service"), self.host)
        pending: dict[str, int | None] = {}
        with self._locked() as state:
            records = state["components"]
            for comp in chosen:
                if comp.kind == "service":
                    continue  # the host runs them; they are started below
                if comp.kind == "host" and not comp.local_services():
                    continue
                pid = self._start_process(comp, records, say)
                if pid is not False:
                    pending[comp.name] = pid
        for comp in chosen:
            if self._is_hosted(comp) and comp.name not in pending:
                pending[comp.name] = self._start_hosted(comp, say)
            elif comp.kind == "service" and comp.external:
                pending[comp.name] = None
                say(f"{comp.name}: external at {comp.address}, checking only")

        failures = []
        deadline = time.monotonic() + timeout
        for comp in chosen:
            if comp.name not in pending:
                continue
            if self._wait_ready(comp, pending[comp.name], deadline):
                say(f"{comp.name}: ready at {comp.address}")
            else:
                failures.append(self._why_not_ready(comp, pending[comp.name]))
        if failures:
            raise StackError("\n\n".join(failures))
        return self.status()

    def _start_process(self, comp, records: dict, say: Progress) -> int | None | bool:
        """Launch a broker or the host unless it runs; its pid, None if external, False if nothing to wait for."""
        record = records.get(comp.name)
        if comp.external:
            records.pop(comp.name, None)
            say(f"{comp.name}: external at {comp.address}, checking only")
            return None
        if self._record_alive(record):
            say(f"{comp.name}: already running (pid {record['pid']})")
            return record["pid"]
        if record:
            say(f"{comp.name}: recovering from stale state (pid {record.get('pid')} is gone)")
            records.pop(comp.name, None)
        self._ensure_port_free(comp)
        if comp.kind == "host":
            for service in comp.local_services():
                self._ensure_port_free(service)
        if hasattr(comp, "prepare"):
            comp.prepare(self.home, say)  # one-off work before the first start (fetch, format)
        pid = self._launch(comp)
        records[comp.name] = {"kind": comp.kind, "pid": pid, "started": start_time(pid), "url": comp.address,
                              "log": str(self.log_path(comp.name)), "launched_at": time.time()}
        say(f"{comp.name}: started (pid {pid}), waiting for it to be ready")
        return pid

    def _start_hosted(self, comp, say: Progress) -> int | None:
        """Ask a running host to start a service a student stopped (or that failed)."""
        host = self.host
        record = self._record(host.name)
        if record is None:
            return None  # the host was just launched: it starts every local service itself
        if not wait_until(host.ready, timeout=30, while_alive=record["pid"]):
            return record["pid"]
        state = host.states().get(comp.name, {})
        if state.get("state") not in ("running", "starting", "restarting", "frozen"):
            say(f"{comp.name}: {state.get('state', 'not running')}, starting it")
            host.call("POST", f"/services/{comp.name}/start")
        return record["pid"]

    def _wait_ready(self, comp, pid: int | None, deadline: float) -> bool:
        if self._is_hosted(comp):
            def ready() -> bool:
                return comp.ready() or self.host.states().get(comp.name, {}).get("state") == "failed"
            host_pid = pid or (self._record(self.host.name) or {}).get("pid")
            return wait_until(ready, timeout=max(0.5, deadline - time.monotonic()), while_alive=host_pid) \
                and comp.ready()
        return wait_until(comp.ready, timeout=max(0.5, deadline - time.monotonic()), while_alive=pid)

    def _ensure_port_free(self, comp) -> None:
        port = port_of(comp.address)
        # A process that has just died (a stale record) may hold its port for a moment longer.
        if wait_until(lambda: not port_open("127.0.0.1", port), timeout=2.0):
            return
        owner = comp.identify() if hasattr(comp, "identify") else None
        env = getattr(comp, "address_env", None) or env_name(comp.name)  # brokers and the host name their own
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
        command = comp.command(self.home) if comp.kind == "host" else comp.command()
        proc = spawn(command, env=comp.environment(self.home), log_path=log, cwd=ROOT)
        return proc.pid

    def _why_not_ready(self, comp, pid: int | None) -> str:
        if self._is_hosted(comp):
            state = self.host.states().get(comp.name, {})
            if state.get("state") == "failed":
                reason = f"{comp.name} failed to start: {state.get('error')}"
            elif pid is not None and not alive(pid):
                reason = f"{comp.name}: the service host exited during start-up"
                comp = self.host
            else:
                reason = f"{comp.name} did not become ready at {comp.address} in time"
        elif pid is not None and not alive(pid):
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
                if self._stop_process(name, records, say):
                    stopped.append(name)
        return stopped

    def _stop_process(self, name: str, records: dict, say: Progress) -> bool:
        record = records.pop(name)
        if record.get("pid") and alive(record["pid"], record.get("started")):
            try:
                os.killpg(record["pid"], signals.SIGCONT)  # a frozen process cannot act on SIGTERM
            except (ProcessLookupError, PermissionError):
                pass
        done = terminate(record.get("pid", 0), record.get("started"))
        say(f"{name}: stopped (pid {record['pid']})" if done else f"{name}: was not running")
        comp = next((c for c in self.components if c.name == name), None)
        if comp is not None and hasattr(comp, "cleanup"):
            comp.cleanup(self.home, record, say)  # helpers a component leaves behind (epmd)
        return done

    def status(self) -> list[ComponentStatus]:
        records = self._read_state()["components"]
        host = self.host
        hosted = host.states() if host is not None and not host.external else {}
        out = []
        for comp in self.components:
            record = records.get(comp.name) or {}
            if self._is_hosted(comp):
                out.append(self._service_status(comp, hosted.get(comp.name), records.get(host.name) or {}))
                continue
            if comp.kind == "host" and not comp.local_services() and not record:
                continue  # every service runs elsewhere (compose): there is no host here to speak of
            managed = self._record_alive(record)
            pid = record.get("pid") if managed else None
            ready = comp.ready()
            if comp.external:
                health = "external" if ready else "unhealthy"
            elif ready:
                health = "healthy"
            else:
                health = "unhealthy" if managed or port_open("127.0.0.1", port_of(comp.address)) else "stopped"
            # The host's own memory only: isolated services are counted on their own rows.
            pss = (process_pss(pid) if pid else None) if comp.kind == "host" else pss_bytes(pid)
            out.append(ComponentStatus(
                name=comp.name, kind=comp.kind, url=comp.address, health=health,
                state="external" if comp.external else ("running" if managed or ready else "stopped"),
                pid=pid, rss_mb=_mb(rss_bytes(pid)), pss_mb=_mb(pss), managed=managed,
                log=record.get("log") if record else None, details=comp.describe(),
                note="" if managed or comp.external or health == "stopped" else "not started by lab",
            ))
        return out

    def _service_status(self, comp, hosted: dict | None, host_record: dict) -> ComponentStatus:
        host_alive = self._record_alive(host_record)
        ready = comp.ready()
        hosted = hosted or {}
        state = hosted.get("state") or ("running" if ready else "stopped")
        isolated = hosted.get("mode") == "isolated"
        if isolated and state == "running":
            state = "isolated"
        if ready:
            health = "healthy"
        elif state in ("stopped",) or (not host_alive and not port_open("127.0.0.1", port_of(comp.address))):
            health = "stopped"
        else:
            health = "unhealthy"
        pid = hosted.get("pid") if isolated else (host_record.get("pid") if host_alive else None)
        note = hosted.get("error") or ""
        if ready and not hosted and not host_alive:
            note = "not started by lab"
        return ComponentStatus(
            name=comp.name, kind=comp.kind, url=comp.address, health=health, state=state, pid=pid,
            rss_mb=_mb(rss_bytes(pid)) if isolated else None, pss_mb=_mb(pss_bytes(pid)) if isolated else None,
            managed=host_alive, log=str(self.log_path(comp.name)), note=note, details=comp.describe())

    def reset(self, progress: Progress | None = None) -> list[str]:
        """Restore the seed data of every running component; name the ones that are not running."""
        say = progress or (lambda _msg: None)
        done, down = [], []
        for comp in self.components:
            if comp.kind == "host":
                continue
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

    # --- one component -------------------------------------------------------------

    def _hosted_call(self, name: str, action: str, body: dict | None = None) -> dict:
        comp = self.component(name)
        if comp.kind != "service":
            raise StackError(f"{name} is not an HTTP service of the lab; `lab {action}` works on: "
                             f"{', '.join(c.name for c in self.components if c.kind == 'service')}.")
        if comp.external:
            raise StackError(f"{name} runs outside the lab at {comp.address}: {action} it where it runs "
                             f"(for example `docker compose {'stop' if action == 'stop' else 'restart'} {name}`).")
        if self._record(self.host.name) is None and not self.host.ready():
            raise StackError("The lab's services are not running; start them with `lab up`.")
        return self.host.call("POST", f"/services/{name}/{action}", json=body)

    def stop(self, name: str, progress: Progress | None = None) -> None:
        """Stop one component: a service's port then refuses connections; a broker's process ends."""
        comp = self.component(name)
        if comp.kind == "service":
            self._hosted_call(name, "stop")
            return
        if comp.external:
            raise StackError(f"{name} runs outside the lab at {comp.address}: stop it where it runs.")
        with self._locked() as state:
            if name not in state["components"]:
                raise StackError(f"{name} was not started by `lab up` with this LAB_HOME ({self.home}).")
            self._stop_process(name, state["components"], progress or (lambda _m: None))

    def start(self, name: str, timeout: float = 120.0, progress: Progress | None = None) -> ComponentStatus:
        """Start one stopped component (a broker or the host starts as in `lab up`)."""
        comp = self.component(name)
        if comp.kind == "service" and not comp.external and self._record(self.host.name) is not None:
            self._hosted_call(name, "start")
        self.up(timeout=timeout, progress=progress, only=[name])
        return next(s for s in self.status() if s.name == name)

    def restart(self, name: str, timeout: float = 120.0, progress: Progress | None = None) -> ComponentStatus:
        """Stop and start one component (a service gets a fresh app; its database stays)."""
        comp = self.component(name)
        if comp.kind == "service":
            self._hosted_call(name, "restart")
            self.up(timeout=timeout, progress=progress, only=[name])
        else:
            if self._record(name) is not None:
                self.stop(name, progress)
            self.up(timeout=timeout, progress=progress, only=[name])
        return next(s for s in self.status() if s.name == name)

    def isolate(self, name: str) -> dict:
        """Move a service into a process of its own (same port, data and log), so it can be killed or frozen."""
        return self._hosted_call(name, "isolate")

    def join(self, name: str) -> dict:
        """Bring an isolated service back into the shared host process."""
        return self._hosted_call(name, "join")

    def signal(self, name: str, signal_name: str) -> dict:
        """Send a real signal (KILL, STOP, CONT, TERM) to an isolated service or to a broker."""
        comp = self.component(name)
        wanted = signal_name.upper().removeprefix("SIG")
        if wanted not in SIGNALS:
            raise StackError(f"Unknown signal {signal_name!r}; use one of {', '.join(SIGNALS)}.")
        if comp.kind == "service":
            return self._hosted_call(name, "signal", {"signal": wanted})
        record = self._record(name)
        if record is None:
            raise StackError(f"{name} is not running as a process of this lab; start it with `lab up`.")
        os.killpg(record["pid"], SIGNALS[wanted])  # the broker's whole process group (Erlang, JVM)
        return {"name": name, "pid": record["pid"], "signal": wanted}

    def chaos(self, name: str, **switches) -> dict:
        """Set a service's chaos switches (latency_ms, jitter_ms, error_rate, error_status, down); none: all off."""
        comp = self.component(name)
        if comp.kind != "service":
            raise StackError(f"{name} has no chaos switches; they belong to the lab's HTTP services.")
        try:
            if switches:
                resp = requests.put(comp.address + "/admin/chaos", json=switches, timeout=10)
            else:
                resp = requests.delete(comp.address + "/admin/chaos", timeout=10)
        except requests.RequestException as exc:
            raise StackError(f"{name} does not answer at {comp.address} ({type(exc).__name__}); "
                             f"is it stopped? `lab start {name}`.") from None
        if resp.status_code >= 400:
            details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in resp.json()["error"]["details"])
            raise StackError(f"{name} refused those switches: {details or resp.text[:200]}")
        return requests.get(comp.address + "/admin/chaos", timeout=10).json()

    def tail(self, name: str, lines: int = 50) -> str:
        path = self.log_path(name)
        try:
            with open(path, errors="replace") as fh:
                return "".join(deque(fh, maxlen=lines))
        except OSError:
            return ""
