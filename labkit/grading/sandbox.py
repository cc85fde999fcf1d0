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
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import config

from . import protocol
from .cgroup import PREFIX, ControlGroup, owner, owner_gone
from .child import TRUNCATED_MARK
from .endpoints import Endpoint, loopback_names, service_endpoints
from .jail import HOME
from .process import TIMEOUT, SandboxProcess
from .protocol import ProtocolError
from .student import StudentError

ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the labkit package

# Statuses from worst to mildest; a submission shows the worst it earned. "not_graded": a service, a broker or
# the sandbox the grader needs was missing, so some of the grade is missing: grade again once it is there.
STATUSES = ("not_graded", "tampered", "invalid", "timeout", "memory_limit", "crashed", "exited", "error",
            "output_truncated", "missing", "ok")
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


class SandboxUnavailable(Exception):
    """This machine does not let the grader build the sandbox; the message says why and what to do."""


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


class SandboxStudent:
    """A submission's code running in a sandboxed child process; see the module docstring."""

    def __init__(self, cells: list[dict], *, services: dict[str, str], limits: Limits = Limits(),
                 hide: list[str] = (), endpoints: list[Endpoint] = (), env: dict[str, str] | None = None) -> None:
        self.cells = cells
        self.services = services
        self.env = dict(env or {})  # more addresses for the child (the brokers': LAB_AMQP_URL, ...)
        self.endpoints = {e.name: e for e in [*service_endpoints(services), *endpoints]}
        self.refused: list[str] = []  # what the guards cut off, for the notes (shared by every start's bridge)
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
        self._child: SandboxProcess | None = None
        self._served: set[str] = set()
        self._loaded = False
        self._stopped = False  # tampered or out of time: no more restarts
        self._workdir: str | None = None
        self._cgroup: ControlGroup | None = None
        self._oom_before = 0
        self._app_sock: socket.socket | None = None
        self._app_url = ""
        self._tail = b""

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
        self._kill()

    def close(self) -> None:
        child = self._child
        if child is not None and self._alive():
            try:
                child.send({"op": "bye"})
                child.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._end()
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
        return self._child is not None and self._loaded and not self._stopped and self._child.alive()

    def _kill(self) -> None:
        """Stop the current child (any thread may call): it takes no more requests."""
        self._loaded = False
        if self._child is not None:
            self._child.kill()

    def _end(self) -> None:
        """Kill and reap the current child (the thread that drives it)."""
        child, self._child = self._child, None
        self._loaded = False
        if child is not None:
            child.kill()
            child.reap()

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
        self._end()
        self.starts += 1
        self._served.clear()
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
        uid = UID_BASE + secrets.randbelow(UID_SPAN) if os.geteuid() == 0 else None
        config = {
            "workdir": self._workdir, "hide": self.hide, "uid": uid, "gid": uid,
            "memory_mb": self.limits.memory_mb, "cpu_seconds": int(self.limits.timeout) + 5,
            "output_bytes": self.limits.output_kb * 1024, "nproc": PIDS_MAX,
            "bridge": [[e.name, e.host, e.port] for e in self.endpoints.values()],
            "hosts": loopback_names(list(self.endpoints.values())),
        }
        self._child = SandboxProcess(config=config, env={**sandbox_env(self.services), **self.env},
                                     workdir=self._workdir, app_sock=self._app_sock, cgroup=self._cgroup,
                                     endpoints=self.endpoints, refused=self.refused, on_output=self._output)

    def _hello(self) -> str:
        """The child's first message: "ok" or "fail"."""
        msg = self._child.next(min(self.limits.step_timeout, max(self.remaining(), 0.01)))
        if msg is TIMEOUT or msg is None:
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
            reply = self._child.exchange({"op": "names"}, min(self.limits.step_timeout, max(self.remaining(), 0.01)))
        except ProtocolError as exc:
            self._tampered(str(exc))
            return "fail"
        except OSError as exc:
            self._incident("crashed", f"The sandbox could not start: {exc}.")
            return "fail"
        if reply is TIMEOUT or reply is None:
            self._incident("crashed", "The sandbox did not list the notebook's names.")
            return "fail"
        self.names = set(reply["names"])
        self._loaded = True
        return "ok"

    def _run_cell(self, cell: dict) -> str:
        index = cell["index"]
        wait = min(self.limits.step_timeout, max(self.remaining(), 0.01))
        reply = self._child.exchange({"op": "cell", "index": index, "source": cell["source"]}, wait)
        if reply is TIMEOUT:
            self._kill()
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
        self._end()

    def _request(self, message: dict, name: str) -> dict:
        if not self._ensure():
            if self._stopped and any(i.status == "tampered" for i in self.incidents):
                raise StudentError("tampered", name)
            if self.remaining() <= 0 or self._stopped:
                raise StudentError("timeout", name, detail=": час на цю роботу вичерпано")
            raise StudentError("crashed", name, detail=": пісочницю не вдалося перезапустити")
        wait = min(self.limits.step_timeout, max(self.remaining(), 0.01))
        try:
            reply = self._child.exchange(message, wait)
        except ProtocolError as exc:
            self._tampered(str(exc))
            raise StudentError("tampered", name) from None
        if reply is TIMEOUT:
            self._kill()
            self._incident("timeout", f"{name}() did not return within {wait:.0f} s.")
            raise StudentError("timeout", name, detail=f" (за {wait:.0f} с)")
        if reply is None:
            if self._stopped:
                raise StudentError("timeout", name, detail=": час на цю роботу вичерпано")
            status, how = self._ended()
            self._incident(status, f"{name}() {how}.")
            raise StudentError("exited" if status == "exited" else "crashed", name, detail=f" ({how})")
        return reply

    def _ended(self) -> tuple[str, str]:
        """How the child ended: a status and a phrase for the note."""
        code, sig = self._child.ended()
        oom = self._cgroup is None or self._cgroup.memory is None or self._cgroup.oom_kills() > self._oom_before
        self._end()
        if sig == signal.SIGXCPU:
            return "timeout", "used up its CPU time"
        if sig == signal.SIGKILL and oom:
            return "memory_limit", "was killed by the system (out of memory)"
        if sig is not None:
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return "crashed", f"crashed with {name}"
        return "exited", f"ended the process (exit code {code}; sys.exit or os._exit)"

    def _output(self, chunk: bytes) -> None:
        """What the child printed: counted, its head kept; the child's own cap marks where it cut."""
        mark = TRUNCATED_MARK.encode()
        self.output_bytes += len(chunk)
        if len(self.output_head) < 8192:
            self.output_head += chunk[: 8192 - len(self.output_head)]
        if mark in self._tail + chunk or self.output_bytes > self.limits.output_kb * 1024 + 65536:
            self.truncated = True
        self._tail = chunk[-len(mark):]
