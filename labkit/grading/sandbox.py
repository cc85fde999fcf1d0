"""The grader's side of a sandboxed submission: start the child, feed it code, call its functions.

:class:`SandboxStudent` is the handle checks use in ``lab grade``. It starts
``labkit.grading.child`` with the notebook's code cells and limits, watches every
cell and call with a clock, and turns whatever the student's code does (an
exception, ``sys.exit``, ``os._exit``, a segfault, an endless loop, a memory hog,
a flood of output) into a :class:`~labkit.grading.student.StudentError` for the
check at hand plus an :class:`Incident` for the gradebook. When the child dies or
hangs, the next call starts a new one that skips the cell that killed the last,
so the functions that are fine still earn their points.
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from labkit import config

from .child import TRUNCATED_MARK
from .student import StudentError

ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the labkit package

# Statuses from worst to mildest; a submission shows the worst it earned. "not_graded": a service or
# broker the grader needs did not answer, so some of the grade is missing: grade again once it is up.
STATUSES = ("not_graded", "invalid", "timeout", "memory_limit", "crashed", "exited", "error", "output_truncated",
            "missing", "ok")
_TIMEOUT = object()
PIDS_MAX = 64  # processes and threads of one submission (uvicorn and requests need a handful)


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    timeout: float = 60.0  # wall clock for the whole submission, seconds
    step_timeout: float = 10.0  # one cell or one call, seconds
    memory_mb: int = 1024  # address space
    output_kb: int = 256  # what it may print
    max_starts: int = 5  # sandboxes started per submission (restarts skip the cell that failed)


@dataclass(frozen=True)
class Incident:
    """Something a submission did that the gradebook reports: a status and a sentence."""

    status: str
    note: str


@dataclass(frozen=True)
class Endpoint:
    """A TCP address the sandbox may connect to, and where the grader connects for it.

    ``host``:``port`` is the address as the sandbox's code has it (in its environment, or
    advertised by a broker); the bridge listens there inside the sandbox's own network.
    ``upstream`` is where the grader opens the real connection. With a ``guard`` (a
    factory of :mod:`~labkit.grading.guards` objects) the connection runs through it in
    the grader's process; without, the sandbox gets the connection itself.
    """

    name: str
    host: str
    port: int
    upstream: tuple[str, int]
    guard: Callable[[], Any] | None = None


def service_endpoints(services: dict[str, str]) -> list[Endpoint]:
    """The HTTP services' endpoints: each reached where its URL says, unguarded (they are the worker's own)."""
    found = []
    for name, address in services.items():
        parts = urlsplit(address)
        if parts.hostname and parts.port:
            found.append(Endpoint(name, parts.hostname, parts.port, (parts.hostname, parts.port)))
    return found


def loopback_names(endpoints: list[Endpoint]) -> dict[str, str]:
    """A loopback address inside the sandbox for each host name that is not loopback already (compose: ``kafka``)."""
    names: dict[str, str] = {}
    for e in endpoints:
        host = e.host.lower()
        if host in ("localhost", "::1") or host.startswith("127.") or host in names:
            continue
        if host.replace(".", "").isdigit() or ":" in host:
            continue  # an IP address elsewhere: the sandbox's network cannot hold it
        names[host] = f"127.0.{len(names) // 250 + 1}.{len(names) % 250 + 2}"
    return names


def worst(statuses) -> str:
    found = [s for s in statuses if s in STATUSES]
    return min(found, key=STATUSES.index) if found else "ok"


def sandbox_env(services: dict[str, str], workdir: str) -> dict[str, str]:
    """A clean environment: service addresses and Python's basics, none of the grader's secrets."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": "/tmp",
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves address space per thread arena; RLIMIT_AS counts it
        "LAB_GRADING": "1",
    }
    for name, address in services.items():
        env[config.env_name(name)] = address
    return env


class ControlGroup:
    """Best effort: a cgroup capping a submission's processes (a fork bomb) and their memory together.

    Uses cgroup v2 where its controllers are enabled, else v1's ``pids`` and ``memory``
    hierarchies; silently does nothing where the grader may not create cgroups. The
    child is put in before it runs any student code; everything it forks stays in.
    """

    V1 = {"pids": ("pids.max", "{pids}"), "memory": ("memory.limit_in_bytes", "{memory}")}
    V2 = {"pids.max": "{pids}", "memory.max": "{memory}"}

    def __init__(self, pids: int, memory_bytes: int) -> None:
        self.dirs: list[Path] = []
        values = {"pids": str(pids), "memory": str(memory_bytes)}
        name = f"lab-grade-{os.getpid()}-{secrets.token_hex(4)}"
        unified = Path("/sys/fs/cgroup")
        try:
            if (unified / "cgroup.controllers").exists():
                here = unified / self._own("").lstrip("/")
                enabled = (here / "cgroup.subtree_control").read_text().split()
                if "pids" in enabled or "memory" in enabled:
                    d = here / name
                    d.mkdir()
                    self.dirs.append(d)
                    for file, value in self.V2.items():
                        if file.split(".")[0] in enabled:
                            (d / file).write_text(value.format(**values))
                return
            for controller, (file, value) in self.V1.items():
                base = unified / controller
                if not base.is_dir():
                    continue
                d = base / self._own(controller).lstrip("/") / name
                d.mkdir()
                self.dirs.append(d)
                (d / file).write_text(value.format(**values))
        except OSError:
            pass  # not ours to configure here: rlimits and timeouts still apply

    @staticmethod
    def _own(controller: str) -> str:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if (controller and controller in names.split(",")) or (not controller and names == ""):
                return path
        return "/"

    def add(self, pid: int) -> None:
        for d in self.dirs:
            try:
                (d / "cgroup.procs").write_text(str(pid))
            except OSError:
                pass

    def remove(self) -> None:
        """Delete the cgroups once their (killed) processes are gone; in the background if that takes a while."""
        dirs, self.dirs = self.dirs, []
        if dirs and not self._rmdir(dirs, tries=10):
            threading.Thread(target=self._rmdir, args=(dirs, 500), daemon=True).start()

    @staticmethod
    def _rmdir(dirs: list[Path], tries: int) -> bool:
        left = list(dirs)
        for _ in range(tries):
            for d in list(left):
                try:
                    d.rmdir()
                    left.remove(d)
                except FileNotFoundError:
                    left.remove(d)
                except OSError:  # processes still leaving
                    pass
            if not left:
                return True
            time.sleep(0.02)
        return False


class SandboxStudent:
    """A submission's code running in a sandboxed child process; see the module docstring."""

    def __init__(self, cells: list[dict], *, services: dict[str, str], limits: Limits = Limits(),
                 hide: list[str] = (), isolate: bool = True, endpoints: list[Endpoint] = (),
                 env: dict[str, str] | None = None) -> None:
        self.cells = cells
        self.services = services
        self.env = dict(env or {})  # more addresses for the child (the brokers': LAB_AMQP_URL, ...)
        self.endpoints = {e.name: e for e in [*service_endpoints(services), *endpoints]}
        self.refused: list[str] = []  # what the guards cut off, for the notes
        self._relayed: set[socket.socket] = set()
        self._relay_lock = threading.Lock()
        self.limits = limits
        self.hide = [str(Path(p).resolve()) for p in hide]
        self.isolate = isolate
        self.deadline = time.monotonic() + limits.timeout
        self.skip: set[int] = set()
        self.cell_results: dict[int, dict] = {}
        self.incidents: list[Incident] = []
        self.names: set[str] = set()
        self.isolation = ""
        self.starts = 0
        self.output_bytes = 0
        self.output_head = bytearray()
        self.truncated = False
        self._proc: subprocess.Popen | None = None
        self._inner_pid: int | None = None
        self._exit: dict | None = None
        self._replies: queue.Queue = queue.Queue()
        self._served: dict[str, str] = {}
        self._loaded = False
        self._killed = False
        self._workdir: str | None = None
        self._req_fd: int | None = None
        self._bridge: socket.socket | None = None
        self._cgroup: ControlGroup | None = None
        self._app_url = ""

    # -- the Student protocol ------------------------------------------------------------

    def has(self, name: str) -> bool:
        self._ensure()
        return name in self.names

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        reply = self._request({"op": "call", "name": name, "args": list(args), "kwargs": kwargs}, name)
        if reply.get("ok"):
            return reply["value"]
        error = StudentError.from_reply(name, reply)
        if error.kind == "memory":
            self._incident("memory_limit", f"{name}() ran out of memory (MemoryError).")
        elif error.kind == "exited":
            self._incident("exited", f"{name}() called sys.exit().")
        raise error

    def serve(self, name: str) -> str:
        if name not in self._served or not self._alive():
            reply = self._request({"op": "serve", "name": name}, name)
            if not reply.get("ok"):
                if reply.get("kind") == "missing":
                    raise StudentError("missing", name)
                raise StudentError("app", name, detail=f": {reply.get('type')}: {reply.get('message')}")
            if not isinstance(reply.get("url"), str):
                raise StudentError("app", name, detail=": пісочниця не повідомила адресу")
            self._served[name] = reply["url"]
        return self._served[name]

    # -- lifecycle -----------------------------------------------------------------------

    def load(self) -> "SandboxStudent":
        self._ensure()
        return self

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None and not self._killed:
            try:
                self._send({"op": "bye"})
                self._proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> "SandboxStudent":
        return self.load()

    def __exit__(self, *exc) -> None:
        self.close()

    def status(self) -> str:
        found = [i.status for i in self.incidents]
        if self.truncated:
            found.append("output_truncated")
        return worst(found)

    def notes(self) -> list[str]:
        notes = [i.note for i in self.incidents]
        notes += [f"The grader cut a connection to a shared broker: {r}." for r in self.refused]
        if self.truncated:
            notes.append(f"Output was cut at {self.limits.output_kb} KiB.")
        return notes

    # -- internals -----------------------------------------------------------------------

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _incident(self, status: str, note: str) -> None:
        incident = Incident(status, note)
        if incident not in self.incidents:
            self.incidents.append(incident)

    def _alive(self) -> bool:
        return self._proc is not None and self._loaded and not self._killed and self._proc.poll() is None

    def _ensure(self) -> bool:
        """A live child with the code loaded, starting one if needed and allowed."""
        while not self._alive():
            if self._remaining() <= 0:
                self._incident("timeout", f"The submission used up its {self.limits.timeout:.0f} s.")
                return False
            if self.starts >= self.limits.max_starts:
                return False
            outcome = self._start_and_load()
            if outcome == "fail":
                return False
        return True

    def _start(self) -> None:
        self._kill()
        self.starts += 1
        self._loaded, self._killed, self._exit, self._inner_pid = False, False, None, None
        self._served.clear()
        self._replies = queue.Queue()
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix="lab-grade-")
            os.chmod(self._workdir, 0o1777)  # the child may run as nobody
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        # The student's app (ex03) serves on a socket we listen on, so it answers from inside the sandbox;
        # the bridge hands the child connections to its services when it has a network of its own.
        app_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        app_sock.bind(("127.0.0.1", 0))
        app_sock.listen(64)
        self._app_url = f"http://127.0.0.1:{app_sock.getsockname()[1]}"
        bridge, bridge_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child_fds = (req_r, rep_w, app_sock.fileno(), bridge_child.fileno())
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "labkit.grading.child", str(req_r), str(rep_w)],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=child_fds,
                env={**sandbox_env(self.services, self._workdir), **self.env}, cwd=self._workdir,
                start_new_session=True,
            )
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
            app_sock.close()
            bridge_child.close()
        self._req_fd = req_w
        self._bridge = bridge
        if self._cgroup is None:
            self._cgroup = ControlGroup(pids=PIDS_MAX, memory_bytes=self.limits.memory_mb * 2**20)
        self._cgroup.add(self._proc.pid)  # before it reads its config: no student code has run yet
        threading.Thread(target=self._read_replies, args=(rep_r, self._replies), daemon=True).start()
        threading.Thread(target=self._read_output, args=(out_r,), daemon=True).start()
        threading.Thread(target=self._serve_bridge, args=(bridge,), daemon=True).start()
        cells = [c for c in self.cells if c["index"] not in self.skip]
        self._send({
            "cells": cells, "workdir": self._workdir, "hide": self.hide, "isolate": self.isolate,
            "memory_mb": self.limits.memory_mb, "cpu_seconds": int(self.limits.timeout) + 5,
            "output_bytes": self.limits.output_kb * 1024, "services": self.services,
            "bridge": [[e.name, e.host, e.port] for e in self.endpoints.values()],
            "hosts": loopback_names(list(self.endpoints.values())),
            "app_fd": child_fds[2], "bridge_fd": child_fds[3] if self.isolate else None,
        })

    def _serve_bridge(self, bridge: socket.socket) -> None:
        """Open a connection to an endpoint each time the sandbox asks, and hand it over (through its guard, if any)."""
        while True:
            try:
                name = bridge.recv(64).decode(errors="replace")
            except OSError:
                return
            if not name:
                return
            endpoint = self.endpoints.get(name)
            try:
                if endpoint is None:
                    raise OSError(f"no endpoint {name!r}")
                conn = socket.create_connection(endpoint.upstream, timeout=5)
                conn.setblocking(True)  # the timeout made the descriptor non-blocking; the child expects blocking
            except (OSError, TypeError):
                try:
                    bridge.send(b"no")
                except OSError:
                    return
                continue
            handed = conn
            if endpoint.guard is not None:
                handed, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                self._guarded(ours, conn, endpoint.guard())
            try:
                socket.send_fds(bridge, [b"ok"], [handed.fileno()])
            except OSError:
                return
            finally:
                handed.close()

    def _guarded(self, ours: socket.socket, upstream: socket.socket, guard) -> None:
        from .guards import relay

        with self._relay_lock:
            self._relayed = {sock for sock in self._relayed if sock.fileno() != -1}  # the closed ones are done
            self._relayed.update((ours, upstream))

        def refused(what: str) -> None:
            with self._relay_lock:
                if what not in self.refused:
                    self.refused.append(what)

        relay(ours, upstream, guard, refused)

    def _start_and_load(self) -> str:
        """Start a child and run the cells: "ok", "retry" (a cell killed it; skip that one) or "fail"."""
        try:
            self._start()
        except OSError as exc:
            self._incident("crashed", f"The sandbox could not start: {exc}.")
            self._proc = None
            return "fail"
        current: int | None = None
        while True:
            msg = self._next(min(self.limits.step_timeout, max(self._remaining(), 0.01)))
            if msg is _TIMEOUT:
                self._kill()
                if current is None:
                    self._incident("timeout", "The sandbox did not start in time.")
                    return "fail"
                self._cell_failed(current, "timeout",
                                  f"Cell {current} did not finish within {self.limits.step_timeout:.0f} s; "
                                  "it was skipped.")
                return "retry"
            if msg is None:
                status, how = self._ended()
                if current is None:
                    self._incident("crashed", f"The sandbox ended before the code ran ({how}).")
                    return "fail"
                self._cell_failed(current, status, f"Cell {current} {how}; it was skipped.")
                return "retry"
            event = msg.get("event")
            if event == "started":
                self.isolation = msg.get("isolation", "") + ("+cgroup" if self._cgroup and self._cgroup.dirs else "")
            elif event == "cell_start":
                current = msg["index"]
            elif event == "cell_done":
                self._cell_done(msg)
                current = None
            elif event == "ready":
                self.names = set(msg.get("names", []))
                self._loaded = True
                return "ok"

    def _cell_failed(self, index: int, status: str, note: str) -> None:
        self.skip.add(index)
        if index not in self.cell_results:
            self.cell_results[index] = {"ok": False, "status": status, "note": note}
            self._incident(status, note)

    def _cell_done(self, msg: dict) -> None:
        index = msg["index"]
        if index in self.cell_results:
            return
        self.cell_results[index] = msg
        if msg.get("ok"):
            return
        err = msg.get("error", {})
        text = f"{err.get('type')}: {err.get('message')}".rstrip(": ")
        if err.get("kind") == "exited":
            self._incident("exited", f"Cell {index} called sys.exit(); the cells after it still ran.")
        elif err.get("kind") == "memory":
            self._incident("memory_limit", f"Cell {index} ran out of memory ({self.limits.memory_mb} MiB).")
        elif err.get("kind") == "not_implemented":
            pass  # a stub the student has not filled in yet: the checks say so
        else:
            self._incident("error", f"Cell {index} raised {text}.")

    def _request(self, message: dict, name: str) -> dict:
        if not self._ensure():
            if self._remaining() <= 0:
                raise StudentError("timeout", name, detail=": час на цю роботу вичерпано")
            raise StudentError("crashed", name, detail=": пісочницю не вдалося перезапустити")
        message = {**message, "id": secrets.token_hex(8)}
        try:
            self._send(message)
        except OSError:
            pass  # the child is gone: _next sees the end of its pipe
        wait = min(self.limits.step_timeout, max(self._remaining(), 0.01))
        while True:
            msg = self._next(wait)
            if msg is _TIMEOUT:
                self._kill()
                self._incident("timeout", f"{name}() did not return within {wait:.0f} s.")
                raise StudentError("timeout", name, detail=f" (за {wait:.0f} с)")
            if msg is None:
                status, how = self._ended()
                self._incident(status, f"{name}() {how}.")
                raise StudentError("exited" if status == "exited" else "crashed", name, detail=f" ({how})")
            if "event" not in msg and msg.get("id") == message["id"]:
                return msg

    def _send(self, message: dict) -> None:
        data = (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(self._req_fd, view):]

    def _next(self, timeout: float):
        """The child's next message; None once it has gone; _TIMEOUT when it is silent too long."""
        try:
            msg = self._replies.get(timeout=timeout)
        except queue.Empty:
            return _TIMEOUT
        if msg is not None and msg.get("event") == "pid":
            self._inner_pid = msg.get("pid")
            return self._next(timeout)
        if msg is not None and msg.get("event") == "exit":
            self._exit = msg
            return None
        return msg

    def _ended(self) -> tuple[str, str]:
        """How the child ended: a status and a phrase for the note."""
        proc = self._proc
        try:
            code = proc.wait(timeout=5) if proc else None
        except subprocess.TimeoutExpired:
            self._kill()
            code = None
        sig = None
        if self._exit is not None:
            code, sig = self._exit.get("code"), self._exit.get("signal")
        elif code is not None and code < 0:
            code, sig = None, -code
        self._kill()
        if sig == signal.SIGXCPU:
            return "timeout", "used up its CPU time"
        if sig == signal.SIGKILL:
            return "memory_limit", "was killed by the system (most often: out of memory)"
        if sig is not None:
            return "crashed", f"crashed with signal {signal.Signals(sig).name}"
        return "exited", f"ended the process (exit code {code}; sys.exit or os._exit)"

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._killed = True
        if self._inner_pid:
            try:
                os.kill(self._inner_pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self._bridge is not None:
            self._bridge.close()
            self._bridge = None
        with self._relay_lock:
            relayed, self._relayed = self._relayed, set()
        for sock in relayed:  # guarded connections end with the child that opened them
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._req_fd is not None:
            try:
                os.close(self._req_fd)
            except OSError:
                pass
            self._req_fd = None

    @staticmethod
    def _read_replies(fd: int, replies: queue.Queue) -> None:
        with os.fdopen(fd, "rb") as pipe:
            for line in pipe:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not ours: the student's code wrote to the pipe
                if isinstance(msg, dict):
                    replies.put(msg)
        replies.put(None)

    def _read_output(self, fd: int) -> None:
        cap = self.limits.output_kb * 1024
        mark = TRUNCATED_MARK.encode()
        tail = b""
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    return
                self.output_bytes += len(chunk)
                if len(self.output_head) < 8192:
                    self.output_head += chunk[: 8192 - len(self.output_head)]
                if mark in tail + chunk or self.output_bytes > cap + 65536:
                    self.truncated = True
                tail = chunk[-len(mark):]
