"""The sandboxed side of grading: shut in, then answer the grader's requests one at a time.

The grader starts ``python -m labkit.grading.child REQ_FD REP_FD CTL_FD`` per notebook.
The first line on REQ is the configuration. This process then makes new namespaces
(:func:`labkit.grading.jail.unshare`) and forks:

- the fork is PID 1 of the sandbox: it builds its new root, gives up every privilege
  (:mod:`~labkit.grading.jail`), says hello on REP and then runs what the grader asks, in
  the student's own ``__main__`` (see :mod:`~labkit.grading.protocol`): a cell, the names
  defined, a call of the student's function, serving the student's app on the socket the
  grader listens on;
- this process stays outside, runs no student code, and tells the grader on CTL (a pipe
  the sandbox does not hold) the sandbox's process id and how it ended.

The student's code runs in the same process as the answering loop, so it can write to
REP: the grader treats every reply as data to check, never as an order.
"""
from __future__ import annotations

import ast
import builtins
import json
import os
import resource
import select
import signal
import sys
import threading
import time
import traceback
import types

from .protocol import LIMITS, MAX_DEPTH, MAX_LINE, MAX_NAMES, depth_ok

TRUNCATED_MARK = "\n[lab: output truncated]\n"
FORKED = threading.Event()  # set in a process the student's code forked from this one


class Channel:
    """JSON lines to the grader on one pipe, requests from it on another (silent in forks of the student's code)."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.reader = os.fdopen(fd_in, "rb")
        self.fd_out = fd_out
        self.lock = threading.Lock()

    def send(self, message: dict) -> None:
        if FORKED.is_set():
            return
        data = (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd_out, view):]

    def receive(self) -> dict | None:
        line = self.reader.readline()
        return json.loads(line) if line else None


class CappedStream:
    """stdout/stderr for the student's code: passes the first ``cap`` bytes, then drops the rest."""

    def __init__(self, fd: int, budget: list[int], flags: dict) -> None:
        self.fd = fd
        self.budget = budget  # shared by stdout and stderr
        self.flags = flags

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = text.encode("utf-8", "replace")
        room = self.budget[0]
        if len(data) > room:
            if not self.flags.get("truncated"):
                self.flags["truncated"] = True
                self._raw(data[:room] + TRUNCATED_MARK.encode())
            self.budget[0] = 0
        else:
            self.budget[0] -= len(data)
            self._raw(data)
        return len(text)

    def _raw(self, data: bytes) -> None:
        try:
            os.write(self.fd, data)
        except OSError:
            pass

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


# --- the student's code, as data for the grader ----------------------------------------------------


def without_check_calls(source: str) -> str:
    """The cell's code minus top-level ``check(...)`` calls: grading never runs the student's checks."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return source
    lines = source.splitlines(keepends=True)
    for node in reversed(tree.body):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "check"):
            start, end = node.lineno - 1, node.end_lineno
            lines[start:end] = ["pass\n"]
    return "".join(lines)


def strip_magics(source: str) -> str:
    """IPython ``%magic`` and ``!shell`` lines are not Python: drop them."""
    return "".join(
        "pass\n" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines(keepends=True)
    )


def _bounded(text: str, key: str) -> str:
    limit = LIMITS[key]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _safely(get, fallback: str) -> str:
    try:
        value = get()
        return value if isinstance(value, str) else fallback
    except BaseException:  # noqa: BLE001 - the student's __str__ or __name__ may raise anything
        return fallback


def describe_error(exc: BaseException) -> dict:
    """What went wrong, as bounded text; never raises, whatever the exception's methods do."""
    kind = "exception"
    try:
        if isinstance(exc, NotImplementedError):
            kind = "not_implemented"
        elif isinstance(exc, MemoryError):
            kind = "memory"
        elif isinstance(exc, SystemExit):
            kind = "exited"
    except BaseException:  # noqa: BLE001
        pass
    name = _safely(lambda: type.__dict__["__name__"].__get__(type(exc)), "Exception")
    message = _safely(lambda: str(exc), "<its str() failed>")
    where = ""
    try:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith("<cell"):
                where = f"{frame.filename.strip('<>')}, line {frame.lineno}"
                break
    except BaseException:  # noqa: BLE001
        pass
    return {"kind": kind, "type": _bounded(name, "type"), "message": _bounded(message, "message"),
            "where": _bounded(where, "where")}


def jsonable(value):
    """The value as JSON data (tuples become lists), or raise TypeError/ValueError saying why not."""
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    if len(text) > MAX_LINE - 4096:
        raise OverflowError(f"{len(text) // 1024} KiB of JSON")
    data = json.loads(text)
    if not depth_ok(data):
        raise OverflowError(f"nested more than {MAX_DEPTH} levels deep")
    return data


def invoke(fn, args: list, kwargs: dict) -> dict:
    """Call the student's function; its result as JSON data, or what went wrong."""
    if not callable(fn):
        return {"ok": False, "kind": "not_callable", "type": _safely(lambda: type(fn).__name__, "object")[:120],
                "message": "", "where": ""}
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - the student's failure is data for the check
        return {"ok": False, **describe_error(exc)}
    try:
        return {"ok": True, "value": jsonable(value)}
    except OverflowError as exc:
        return {"ok": False, "kind": "too_large", "type": _safely(lambda: type(value).__name__, "object")[:120],
                "message": str(exc), "where": ""}
    except BaseException:  # noqa: BLE001 - TypeError, ValueError, RecursionError, or the object's own trick
        text = _safely(lambda: " ".join(repr(value).split()), "")
        return {"ok": False, "kind": "unserialisable", "type": _safely(lambda: type(value).__name__, "object")[:120],
                "message": text[:200], "where": ""}


def run_cell(index: int, source: str, namespace: dict) -> dict:
    end_strays()
    try:
        code = compile(strip_magics(without_check_calls(source)), f"<cell {index}>", "exec")
        exec(code, namespace)
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: the grader decides what it means
        if FORKED.is_set():
            os._exit(1)
        return {"ok": False, "error": describe_error(exc)}
    if FORKED.is_set():  # a copy the student's code forked: it must not go on as a sandbox
        os._exit(0)
    return {"ok": True}


def end_strays() -> None:
    """As PID 1 of our own namespace, stop every process a cell left behind (a fork bomb's included)."""
    if os.getpid() != 1:
        return  # without a PID namespace, kill(-1) would reach far beyond this sandbox
    for _ in range(20):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            return
        time.sleep(0.01)


def names_of(namespace: dict) -> list[str]:
    names = sorted(k for k in namespace if isinstance(k, str) and not k.startswith("_") and len(k) <= LIMITS["name"])
    return names[:MAX_NAMES]


def answer(request: dict, namespace: dict, servers: dict) -> dict:
    op = request.get("op")
    if op == "cell":
        return run_cell(request["index"], request["source"], namespace)
    if op == "names":  # the cells are done: what they left running goes, as before each cell
        end_strays()
        return {"names": names_of(namespace)}
    name = request.get("name", "")
    if name not in namespace:
        return {"ok": False, "kind": "missing", "type": "", "message": name[:200], "where": ""}
    if op == "call":
        return invoke(namespace[name], request.get("args", []), request.get("kwargs", {}))
    if op == "serve":
        try:
            if name not in servers:
                import socket

                from labkit.grading.appserver import AppServer

                fd = servers.pop("__app_fd__", None)
                if fd is None:
                    raise RuntimeError("only one app per sandbox")
                servers[name] = AppServer(namespace[name], sock=socket.socket(fileno=fd)).start()
            return {"ok": True}
        except BaseException as exc:  # noqa: BLE001
            return {"ok": False, **describe_error(exc)}
    raise ValueError(f"unknown op {op!r}")


def serve_loop(namespace: dict, channel: Channel, app_fd: int | None) -> None:
    servers = {"__app_fd__": app_fd}
    while True:
        request = channel.receive()
        if request is None or request.get("op") == "bye":
            return
        reply = answer(request, namespace, servers)
        channel.send({"id": request.get("id"), **reply})


# --- starting up ----------------------------------------------------------------------------------


def limit(cfg: dict) -> None:
    """Resource limits for everything this process does from now on."""
    mem = int(cfg["memory_mb"]) * 1024 * 1024
    cpu = int(cfg["cpu_seconds"])
    settings = [
        (resource.RLIMIT_AS, mem, mem),
        (resource.RLIMIT_CPU, cpu, cpu + 5),
        (resource.RLIMIT_FSIZE, 16 * 1024 * 1024, 16 * 1024 * 1024),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, 256, 256),
    ]
    if cfg.get("nproc"):  # our uid is ours alone: its process count is this sandbox's
        settings.append((resource.RLIMIT_NPROC, int(cfg["nproc"]), int(cfg["nproc"])))
    for which, soft, hard in settings:
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):
            pass


def _relay(pid: int, ctl: int, grader: int) -> None:
    """Outside the sandbox: tell the grader (on a pipe only we hold) its process id, then how it ended.

    ``grader`` is our copy of the request pipe's reading end: it hangs up when the grader's
    process ends, however it ends, and then the sandbox goes too. (A parent-death signal
    would follow the grader's thread that started us, and checks run in threads that end.)
    """
    def tell(message: dict) -> None:
        try:
            os.write(ctl, (json.dumps(message) + "\n").encode())
        except OSError:
            pass

    tell({"event": "pid", "pid": pid})
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
    inner = os.pidfd_open(pid)
    watch = select.poll()
    watch.register(inner, select.POLLIN)
    watch.register(grader, 0)  # only its hang-up: the sandbox reads the requests, not us
    while True:
        try:
            events = dict(watch.poll())
        except InterruptedError:
            continue
        if inner in events:
            break
        if grader in events:
            os.kill(pid, signal.SIGKILL)
            watch.unregister(grader)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 0
            break
    tell({"event": "exit", "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
          "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None})
    os._exit(0)


def shut_in(cfg: dict, channel: Channel, ctl: int) -> list:
    """Namespaces, a fork, the new root, no privilege; returns the bridge's listeners. Only the fork returns."""
    from . import bridge, jail

    jail.unshare(network=True)
    grader = os.dup(channel.reader.fileno())
    pid = os.fork()
    if pid:
        for fd in (channel.reader.fileno(), channel.fd_out, cfg["app_fd"], cfg["bridge_fd"]):
            os.close(fd)
        _relay(pid, ctl, grader)
    os.close(ctl)
    os.close(grader)
    jail.die_with_parent()  # our parent is the single-threaded process above
    root_mode = os.getuid() == 0
    uid, gid = (cfg["uid"], cfg["gid"]) if root_mode else (jail.NOBODY, jail.NOBODY)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    jail.Jail(cfg["workdir"]).build(jail.library_paths(package), cfg.get("hide", []), uid, gid, cfg.get("hosts") or {})
    if not bridge.loopback_up():
        raise jail.JailError("the loopback device did not come up")
    listeners = bridge.listen(cfg.get("bridge", []), cfg.get("hosts"))
    jail.drop_privileges(uid, gid)
    cfg["nproc"] = cfg.get("nproc") if root_mode else None
    return listeners


def main(argv: list[str]) -> None:
    channel = Channel(int(argv[0]), int(argv[1]))
    ctl = int(argv[2])
    cfg = channel.receive()
    if cfg is None:
        return
    from . import bridge
    from .jail import JailError

    try:
        listeners = shut_in(cfg, channel, ctl)
    except (JailError, OSError) as exc:  # no student code has run: this hello is ours
        channel.send({"event": "hello", "isolation": "none", "why": str(exc)[:LIMITS["isolation"]]})
        os._exit(3)
    bridge.serve(listeners, cfg["bridge_fd"])  # threads only now, after the last privilege is gone
    limit(cfg)
    flags: dict = {}
    budget = [int(cfg["output_bytes"])]
    sys.stdout = CappedStream(1, budget, flags)
    sys.stderr = CappedStream(2, budget, flags)
    sys.stdin = open(os.devnull)
    sys.argv = ["notebook"]
    os.register_at_fork(after_in_child=FORKED.set)
    # PID 1 of our namespace: let the kernel reap whatever the student's code forks,
    # or zombies would use up the process limit (subprocess copes: returncode becomes 0).
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    channel.send({"event": "hello", "isolation": "namespaces+own network+new root+read-only system+unprivileged"
                                                 "+no capabilities"})
    # The student's own __main__, as in a kernel: pydantic and dataclasses look names up there.
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    serve_loop(namespace, channel, cfg.get("app_fd"))
    end_strays()
    os._exit(0)  # never wait for threads the student's code left behind


if __name__ == "__main__":
    main(sys.argv[1:])
