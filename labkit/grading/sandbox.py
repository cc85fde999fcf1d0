"""The grader's side of a sandboxed notebook: start the child, drive it, call its functions, stop it.

:class:`SandboxStudent` is the handle checks use in ``lab grade``. It starts
``labkit.grading.child`` (which shuts itself in, see ``jail``), sends it the notebook's
code cells one at a time and then the checks' calls, each under a clock, and turns
whatever the student's code does (an exception, ``sys.exit``, ``os._exit``, a segfault,
an endless loop, a memory hog, a flood of output, a forged message) into a
:class:`~labkit.grading.student.StudentError` for the check at hand plus an
:class:`Incident` for the gradebook. When the child dies or hangs, the next call starts
a new one that skips the cell that killed the last, so the functions that are fine still
earn their points.

What the grader trusts: its own clock, its own pipes' ends, the kernel (process ids
from ``/proc``, exit statuses, cgroups) and the child's outer process, which runs no
student code and reports on a pipe the sandbox does not hold. What it does not trust:
anything on the reply pipe, which is checked against the protocol (``protocol``) and
ends the notebook with status ``tampered`` when it is not a reply.
"""
from __future__ import annotations

import os
import secrets
import select
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

from . import protocol
from .cgroup import PREFIX, ControlGroup, owner, owner_gone
from .child import TRUNCATED_MARK
from .jail import HOME
from .protocol import LineBuffer, ProtocolError
from .student import StudentError

ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the labkit package

# Statuses from worst to mildest; a submission shows the worst it earned. "not_graded": a service, a broker or
# the sandbox the grader needs was missing, so some of the grade is missing: grade again once it is there.
STATUSES = ("not_graded", "tampered", "invalid", "timeout", "memory_limit", "crashed", "exited", "error",
            "output_truncated", "missing", "ok")
_TIMEOUT = object()
PIDS_MAX = 64  # processes and threads of one submission (uvicorn and requests need a handful)
UID_BASE, UID_SPAN = 2_000_000_000, 100_000_000  # a sandbox's uid (as root): one no account uses


@dataclass(frozen=True)
class Limits:
    """What one notebook may use."""

    timeout: float = 60.0  # wall clock for the whole notebook, its cells and every check, seconds
    step_timeout: float = 10.0  # one cell or one call, seconds
    check_timeout: float = 30.0  # one check, all it does included, seconds
    memory_mb: int = 1024  # address space
    output_kb: int = 256  # what it may print
    max_starts: int = 5  # sandboxes started per notebook (restarts skip the cell that failed)


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


class SandboxUnavailable(Exception):
    """This machine does not let the grader build the sandbox; the message says why and what to do."""


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


def sandbox_env(services: dict[str, str]) -> dict[str, str]:
    """A clean environment: service addresses and Python's basics, none of the grader's secrets."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": HOME,
        "USER": "student",
        "LOGNAME": "student",
        "TMPDIR": "/tmp",
        "PYTHONPATH": str(ROOT),  # in the sandbox this folder holds the labkit package and nothing else
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves address space per thread arena; RLIMIT_AS counts it
        "LAB_GRADING": "1",
    }
    for name, address in services.items():
        env[config.env_name(name)] = address
    return env


_workdirs_swept = threading.Event()


def sweep_workdirs() -> None:
    """Remove the (empty) work folders that sandboxes of graders since killed left in the temporary folder."""
    _workdirs_swept.set()
    base = Path(tempfile.gettempdir())
    for folder in base.glob(f"{PREFIX}*"):
        parts = folder.name[len(PREFIX):].split("-")
        if len(parts) >= 3 and parts[1].isdigit() and owner_gone(f"{parts[0]}-{parts[1]}"):
            try:
                folder.rmdir()
            except OSError:
                pass  # not empty, or not ours after all: left alone


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class SandboxStudent:
    """A submission's code running in a sandboxed child process; see the module docstring."""

    def __init__(self, cells: list[dict], *, services: dict[str, str], limits: Limits = Limits(),
                 hide: list[str] = (), endpoints: list[Endpoint] = (), env: dict[str, str] | None = None) -> None:
        self.cells = cells
        self.services = services
        self.env = dict(env or {})  # more addresses for the child (the brokers': LAB_AMQP_URL, ...)
        self.endpoints = {e.name: e for e in [*service_endpoints(services), *endpoints]}
        self.refused: list[str] = []  # what the guards cut off, for the notes
        self._relayed: set[socket.socket] = set()
        self._relay_lock = threading.Lock()
        self.limits = limits
        self.hide = [str(Path(p).resolve()) for p in hide]
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
        self._outer_fd: int | None = None  # pidfds: signals that cannot reach a recycled process id
        self._inner_fd: int | None = None
        self._req_fd: int | None = None
        self._rep_fd: int | None = None
        self._ctl_fd: int | None = None
        self._replies = LineBuffer()
        self._ctl = LineBuffer(4096)
        self._exit: dict | None = None
        self._served: set[str] = set()
        self._loaded = False
        self._stopped = False  # tampered or out of time: no more restarts
        self._workdir: str | None = None
        self._bridge: socket.socket | None = None
        self._cgroup: ControlGroup | None = None
        self._oom_before = 0
        self._app_sock: socket.socket | None = None
        self._app_url = ""
        self._signal_lock = threading.Lock()

    # -- the Student protocol ------------------------------------------------------------

    def has(self, name: str) -> bool:
        self._ensure()
        return name in self.names

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        reply = self._request({"op": "call", "name": name, "args": list(args), "kwargs": kwargs}, name)
        if reply["ok"]:
            return reply["value"]
        error = StudentError.from_reply(name, reply)
        if error.kind == "memory":
            self._incident("memory_limit", f"{name}() ran out of memory (MemoryError).")
        elif error.kind == "exited":
            self._incident("exited", f"{name}() called sys.exit().")
        raise error

    def serve(self, name: str) -> str:
        """Serve the student's app ``name``: on the grader's own socket, at the grader's own address."""
        if name not in self._served or not self._alive():
            reply = self._request({"op": "serve", "name": name}, name)
            if not reply["ok"]:
                if reply.get("kind") == "missing":
                    raise StudentError("missing", name)
                raise StudentError("app", name, detail=f": {reply.get('type')}: {reply.get('message')}")
            self._served.add(name)
        return self._app_url

    def sources(self) -> list[str]:
        """The notebook's code, cell by cell, as the grader read it (never as the sandbox reports it)."""
        return [c["source"] for c in self.cells]

    # -- lifecycle -----------------------------------------------------------------------

    def load(self) -> "SandboxStudent":
        self._ensure()
        return self

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expire(self, note: str) -> None:
        """Out of time (another thread may call this): stop the sandbox for good; blocked calls return."""
        self._stopped = True
        self._incident("timeout", note)
        self._signal_all()

    def close(self) -> None:
        if self._alive():
            try:
                self._send({"op": "bye"})
                self._proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._signal_all()
        self._reap()
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._app_sock is not None:
            self._app_sock.close()
            self._app_sock = None
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

    def _incident(self, status: str, note: str) -> None:
        incident = Incident(status, note)
        if incident not in self.incidents:
            self.incidents.append(incident)

    def _alive(self) -> bool:
        return (self._proc is not None and self._loaded and self._rep_fd is not None and not self._stopped
                and self._proc.poll() is None)

    def _ensure(self) -> bool:
        """A live child with the code loaded, starting one if needed and allowed."""
        while not self._alive():
            if self._stopped:
                return False
            if self.remaining() <= 0:
                self._incident("timeout", f"The notebook used up its {self.limits.timeout:.0f} s.")
                return False
            if self.starts >= self.limits.max_starts:
                return False
            if self._start_and_load() == "fail":
                return False
        return True

    def _start(self) -> None:
        self._signal_all()
        self._reap()
        self.starts += 1
        self._loaded, self._exit = False, None
        self._served.clear()
        self._replies, self._ctl = LineBuffer(), LineBuffer(4096)
        if self._workdir is None:  # the child's new root is mounted here, in its own mount namespace only
            if not _workdirs_swept.is_set():
                sweep_workdirs()
            self._workdir = tempfile.mkdtemp(prefix=f"{PREFIX}{owner()}-")
        if self._app_sock is None:
            # The student's app serves on a socket the grader listens on: the grader knows the address and
            # connects nowhere else; it stays the same when the sandbox restarts.
            self._app_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._app_sock.bind(("127.0.0.1", 0))
            self._app_sock.listen(64)
            self._app_url = f"http://127.0.0.1:{self._app_sock.getsockname()[1]}"
        if self._cgroup is None:
            self._cgroup = ControlGroup(pids=PIDS_MAX, memory_bytes=self.limits.memory_mb * 2**20)
        self._oom_before = self._cgroup.oom_kills()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        out_r, out_w = os.pipe()
        bridge, bridge_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        app_fd = self._app_sock.fileno()
        child_fds = (req_r, rep_w, ctl_w, app_fd, bridge_child.fileno())
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "labkit.grading.child", str(req_r), str(rep_w), str(ctl_w)],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=child_fds,
                env={**sandbox_env(self.services), **self.env}, cwd=self._workdir, start_new_session=True,
            )
        except OSError:
            for fd in (req_r, req_w, rep_r, rep_w, ctl_r, ctl_w, out_r, out_w):
                os.close(fd)
            bridge.close()
            bridge_child.close()
            raise
        for fd in (req_r, rep_w, ctl_w, out_w):
            os.close(fd)
        bridge_child.close()
        self._outer_fd = _pidfd(self._proc.pid)
        self._cgroup.add(self._proc.pid)  # before it reads its configuration: no student code has run yet
        self._req_fd, self._rep_fd, self._ctl_fd, self._bridge = req_w, rep_r, ctl_r, bridge
        threading.Thread(target=self._read_output, args=(out_r,), daemon=True).start()
        threading.Thread(target=self._serve_bridge, args=(bridge,), daemon=True).start()
        uid = UID_BASE + secrets.randbelow(UID_SPAN) if os.geteuid() == 0 else None
        self._send({
            "workdir": self._workdir, "hide": self.hide, "uid": uid, "gid": uid,
            "memory_mb": self.limits.memory_mb, "cpu_seconds": int(self.limits.timeout) + 5,
            "output_bytes": self.limits.output_kb * 1024, "nproc": PIDS_MAX,
            "bridge": [[e.name, e.host, e.port] for e in self.endpoints.values()],
            "hosts": loopback_names(list(self.endpoints.values())),
            "app_fd": app_fd, "bridge_fd": child_fds[4],
        })

    def _hello(self) -> str:
        """The child's first message: "ok", "retry" or "fail"."""
        msg = self._next(min(self.limits.step_timeout, max(self.remaining(), 0.01)))
        if msg is _TIMEOUT or msg is None:
            self._incident("crashed", "The sandbox did not start.")
            return "fail"
        self.isolation, why = protocol.check_hello(msg)
        if self.isolation == "none":
            self._stopped = True
            raise SandboxUnavailable(
                f"The grader could not build its sandbox on this machine ({why}). Run `lab grade` as root, or as a "
                "user where user namespaces are allowed (in Docker: --cap-add SYS_ADMIN --security-opt "
                "seccomp=unconfined).")
        if self._cgroup and self._cgroup.dirs:
            self.isolation += "+cgroup"
        return "ok"

    def _start_and_load(self) -> str:
        """Start a child and run the cells: "ok", "retry" (a cell killed it; skip that one) or "fail"."""
        try:
            self._start()
            if self._hello() == "fail":
                return "fail"
            for cell in self.cells:
                if cell["index"] in self.skip:
                    continue
                outcome = self._run_cell(cell)
                if outcome != "ok":
                    return outcome
            reply = self._exchange({"op": "names"}, min(self.limits.step_timeout, max(self.remaining(), 0.01)))
        except ProtocolError as exc:
            self._tampered(str(exc))
            return "fail"
        except OSError as exc:
            self._incident("crashed", f"The sandbox could not start: {exc}.")
            return "fail"
        if reply is _TIMEOUT or reply is None:
            self._incident("crashed", "The sandbox did not list the notebook's names.")
            return "fail"
        self.names = set(reply["names"])
        self._loaded = True
        return "ok"

    def _run_cell(self, cell: dict) -> str:
        index = cell["index"]
        wait = min(self.limits.step_timeout, max(self.remaining(), 0.01))
        reply = self._exchange({"op": "cell", "index": index, "source": cell["source"]}, wait)
        if reply is _TIMEOUT:
            self._signal_all()
            self._cell_failed(index, "timeout", f"Cell {index} did not finish within {wait:.0f} s; it was skipped.")
            return "retry"
        if reply is None:
            status, how = self._ended()
            self._cell_failed(index, status, f"Cell {index} {how}; it was skipped.")
            return "retry"
        if index not in self.cell_results:
            self.cell_results[index] = reply
            if not reply["ok"]:
                self._cell_error(index, reply["error"])
        return "ok"

    def _cell_failed(self, index: int, status: str, note: str) -> None:
        self.skip.add(index)
        if index not in self.cell_results:
            self.cell_results[index] = {"ok": False, "status": status, "note": note}
            self._incident(status, note)

    def _cell_error(self, index: int, err: dict) -> None:
        text = f"{err['type']}: {err['message']}".rstrip(": ")
        if err["kind"] == "exited":
            self._incident("exited", f"Cell {index} called sys.exit(); the cells after it still ran.")
        elif err["kind"] == "memory":
            self._incident("memory_limit", f"Cell {index} ran out of memory ({self.limits.memory_mb} MiB).")
        elif err["kind"] != "not_implemented":  # a stub the student has not filled in yet: the checks say so
            self._incident("error", f"Cell {index} raised {text}.")

    def _tampered(self, reason: str) -> None:
        self._stopped = True
        self._incident("tampered", f"The notebook wrote to the grader's channel something that is not a reply "
                                   f"({reason}); it was stopped.")
        self._signal_all()
        self._reap()

    def _request(self, message: dict, name: str) -> dict:
        if not self._ensure():
            if self._stopped and any(i.status == "tampered" for i in self.incidents):
                raise StudentError("tampered", name)
            if self.remaining() <= 0 or self._stopped:
                raise StudentError("timeout", name, detail=": час на цю роботу вичерпано")
            raise StudentError("crashed", name, detail=": пісочницю не вдалося перезапустити")
        wait = min(self.limits.step_timeout, max(self.remaining(), 0.01))
        try:
            reply = self._exchange(message, wait)
        except ProtocolError as exc:
            self._tampered(str(exc))
            raise StudentError("tampered", name) from None
        if reply is _TIMEOUT:
            self._signal_all()
            self._incident("timeout", f"{name}() did not return within {wait:.0f} s.")
            raise StudentError("timeout", name, detail=f" (за {wait:.0f} с)")
        if reply is None:
            if self._stopped:
                raise StudentError("timeout", name, detail=": час на цю роботу вичерпано")
            status, how = self._ended()
            self._incident(status, f"{name}() {how}.")
            raise StudentError("exited" if status == "exited" else "crashed", name, detail=f" ({how})")
        return reply

    def _exchange(self, message: dict, timeout: float):
        """Send one request; its checked reply, None if the child ended, _TIMEOUT; ProtocolError if it lied."""
        message = {**message, "id": secrets.token_hex(8)}
        try:
            self._send(message)
        except OSError:
            pass  # the child is gone: _next sees the end of its pipe
        reply = self._next(timeout)
        if reply is _TIMEOUT or reply is None:
            return reply
        return protocol.check_reply(reply, message)

    def _send(self, message: dict) -> None:
        if self._req_fd is None:
            raise OSError("no sandbox")
        view = memoryview(protocol.encode(message))
        while view:
            view = view[os.write(self._req_fd, view):]

    def _next(self, timeout: float):
        """The child's next message; None once it has gone; _TIMEOUT when it is silent too long."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._replies.line()
            if line is not None:
                return protocol.decode(line)
            if self._rep_fd is None or self._stopped:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return _TIMEOUT
            poller = select.poll()
            poller.register(self._rep_fd, select.POLLIN)
            if self._ctl_fd is not None:
                poller.register(self._ctl_fd, select.POLLIN)
            for fd, _ in poller.poll(min(left, 0.5) * 1000):
                if fd == self._ctl_fd:
                    self._read_ctl()
                elif fd == self._rep_fd:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        return None
                    self._replies.feed(chunk)

    def _read_ctl(self) -> None:
        """The outer process's reports (trusted: no student code runs there); checked all the same."""
        chunk = os.read(self._ctl_fd, 4096)
        if not chunk:
            os.close(self._ctl_fd)
            self._ctl_fd = None
            return
        try:
            self._ctl.feed(chunk)
        except ProtocolError:
            return
        while (line := self._ctl.line()) is not None:
            try:
                msg = protocol.decode(line)
            except ProtocolError:
                continue
            if msg.get("event") == "pid" and isinstance(msg.get("pid"), int) and self._inner_fd is None:
                # Only our own child's child, as the kernel says, and held by a pidfd from now on.
                if self._proc is not None and _parent_of(msg["pid"]) == self._proc.pid:
                    self._inner_fd = _pidfd(msg["pid"])
            elif msg.get("event") == "exit":
                code, sig = msg.get("code"), msg.get("signal")
                self._exit = {"code": code if isinstance(code, int) else None,
                              "signal": sig if isinstance(sig, int) and 0 < sig < 65 else None}

    def _ended(self) -> tuple[str, str]:
        """How the child ended: a status and a phrase for the note."""
        deadline = time.monotonic() + 5
        while self._exit is None and self._ctl_fd is not None and time.monotonic() < deadline:
            poller = select.poll()
            poller.register(self._ctl_fd, select.POLLIN)
            if poller.poll(200):
                self._read_ctl()
        code = sig = None
        if self._exit is not None:
            code, sig = self._exit["code"], self._exit["signal"]
        elif self._proc is not None:
            try:
                returncode = self._proc.wait(timeout=5)
                code, sig = (None, -returncode) if returncode < 0 else (returncode, None)
            except subprocess.TimeoutExpired:
                pass
        self._signal_all()
        self._reap()
        if sig == signal.SIGXCPU:
            return "timeout", "used up its CPU time"
        if sig == signal.SIGKILL and (self._cgroup is None or self._cgroup.memory is None
                                      or self._cgroup.oom_kills() > self._oom_before):
            return "memory_limit", "was killed by the system (out of memory)"
        if sig is not None:
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return "crashed", f"crashed with {name}"
        return "exited", f"ended the process (exit code {code}; sys.exit or os._exit)"

    def _signal_all(self) -> None:
        """SIGKILL the sandbox: its PID 1 (by pidfd), with which its whole PID namespace ends.

        The outer process then reaps it and exits by itself, so no process is left
        without a parent to reap it. Before the sandbox's PID 1 is known, the outer
        process and everything in the cgroup are killed instead.
        """
        with self._signal_lock:
            self._loaded = False  # whatever happens next, this child takes no more requests
            if self._inner_fd is not None:
                try:
                    signal.pidfd_send_signal(self._inner_fd, signal.SIGKILL)
                    return
                except OSError:
                    pass
            self._kill_outer()

    def _kill_outer(self) -> None:
        if self._outer_fd is not None:
            try:
                signal.pidfd_send_signal(self._outer_fd, signal.SIGKILL)
            except OSError:
                pass
        if self._cgroup is not None:
            self._cgroup.kill()

    def _reap(self) -> None:
        """Wait for the killed child and close our ends of its pipes (only the thread that drives it)."""
        proc = self._proc
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill_outer()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        for name in ("_inner_fd", "_outer_fd", "_req_fd", "_rep_fd", "_ctl_fd"):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)
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
                if what not in self.refused and len(self.refused) < 20:
                    self.refused.append(what)

        relay(ours, upstream, guard, refused)

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
