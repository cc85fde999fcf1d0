"""The sandboxed side of grading: run one submission's code, then answer the checker's calls.

The grader starts ``python -m labkit.grading.child IN_FD OUT_FD`` per submission and
talks to it in JSON lines over two pipes. This process first shuts itself in (its
own mount and PID namespaces where the kernel allows: the filesystem read-only,
the submissions and output folders hidden, a private writable work folder and
``/tmp`` (what Python and labkit need from under it or a hidden folder bound back
read-only), and as ``nobody`` when started by root), then sets resource limits,
runs the code cells one by one (reporting each), and finally serves requests::

    -> {"op": "call", "name": "list_products", "args": [...], "kwargs": {...}}
    <- {"ok": true, "value": ...} | {"ok": false, "kind": "exception", ...}
    -> {"op": "serve", "name": "app"}      <- {"ok": true, "url": "http://127.0.0.1:PORT"}

Nothing here trusts the student's code: results are only data, and the checks that
judge them run in the grader's own process.
"""
from __future__ import annotations

import ast
import builtins
import ctypes
import json
import os
import resource
import signal
import sys
import threading
import time
import traceback
import types

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_SECUREBITS = 1, 38, 24, 28
# SECBIT_NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED... each with its lock bit: root gains nothing on exec.
SECURE_ALL_BITS = 0x2F
SYS_MOUNT_SETATTR = 442  # x86_64 and aarch64 alike
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 0x1

TRUNCATED_MARK = "\n[lab: output truncated]\n"


FORKED = threading.Event()  # set in a process the student's code forked from this one


class Channel:
    """JSON lines over the two pipes to the grader (silent in forks of the student's code)."""

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
                n = os.write(self.fd_out, view)
                view = view[n:]

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


# --- shutting ourselves in --------------------------------------------------------------


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _mount(libc, source, target, fstype, flags, data=None) -> bool:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    return libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) == 0


def _read_only(libc, path: str = "/") -> bool:
    """Make the mount at ``path`` and every mount below it read-only."""
    class MountAttr(ctypes.Structure):
        _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                    ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]

    attr = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    return libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE,
                        ctypes.byref(attr), ctypes.sizeof(attr)) == 0


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def needed_paths(workdir: str) -> list[str]:
    """Folders this process needs to go on running: Python's installation, its import path, labkit.

    Both the path as written and the one its symlinks lead to, since either may be looked up.
    The work folder is not among them: the sandbox gets a fresh, empty one.
    """
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(sys.executable), package_root, *sys.path]
    found: list[str] = []
    for path in candidates:
        if not path or not os.path.isabs(path):
            continue  # "" (the current folder: the work folder) or a path hook's name
        if os.path.isfile(path):  # a zip on sys.path
            path = os.path.dirname(path)
        if not os.path.isdir(path):
            continue
        for form in (os.path.normpath(path), os.path.realpath(path)):
            if form not in found and not any(_under(form, w) for w in (workdir, os.path.realpath(workdir))):
                found.append(form)
    return found


def plan_keeps(needed: list[str], covered: list[str], hide: list[str]) -> list[str]:
    """The needed folders that sit strictly inside a covered folder, outermost first.

    A folder inside another kept one comes along with it (the bind is recursive), unless
    a hidden folder lies between them: then it must be bound again, over the hiding mount.
    """
    inside = [p for p in needed if any(_under(p, c) and p != c for c in covered)]
    keeps: list[str] = []
    for path in sorted(set(inside), key=lambda p: (p.count("/"), p)):
        carried = any(_under(path, k) and not any(_under(h, k) and h != k and _under(path, h) for h in hide)
                      for k in keeps)
        if not carried:
            keeps.append(path)
    return keeps


def _keep(libc, fd: int, target: str) -> bool:
    """Bind the folder open at ``fd`` (with the mounts below it) onto ``target``, read-only."""
    try:
        os.makedirs(target, exist_ok=True)
    except OSError:
        return False
    if not _mount(libc, f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC):
        return False
    if not _read_only(libc, target):
        # No mount_setattr: remount the top bind read-only, keeping the flags a user namespace locks.
        locked = os.statvfs(target).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _mount(libc, None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | locked)
    if not os.statvfs(target).f_flag & os.ST_RDONLY:
        libc.umount2(target.encode(), MNT_DETACH)  # never a writable way into the real file system
        return False
    return True


def _drop_capabilities(libc) -> bool:
    """Empty the bounding set, lock root's special cases off, then clear every capability."""
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_SET_SECUREBITS, SECURE_ALL_BITS, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)
    data = (Data * 2)()
    return libc.capset(ctypes.byref(header), data) == 0


def _loopback_up() -> bool:
    """Bring up ``lo`` in a new network namespace (it starts down)."""
    import fcntl
    import socket
    import struct

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
        return True
    except OSError:
        return False


def _splice(a, b) -> None:
    """Copy bytes both ways between two sockets until both sides are done, then close them."""
    import socket

    left = [2]
    lock = threading.Lock()

    def one(src, dst) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with lock:
            left[0] -= 1
            if left[0] == 0:
                a.close()
                b.close()

    threading.Thread(target=one, args=(a, b), daemon=True).start()
    threading.Thread(target=one, args=(b, a), daemon=True).start()


def bridge_services(endpoints, fd: int, hosts: dict | None = None) -> None:
    """In our own network namespace: listen where each endpoint's address says and tunnel to the grader.

    ``endpoints`` is a list of ``[name, host, port]`` (an older grader sent a dict of
    service URLs). Each connection the student's code opens is matched with one the
    grader opens to the real service or broker and hands over (a file descriptor over a
    Unix socket), so the sandbox reaches its own services and nothing else on the
    machine. A host name that is not loopback (``kafka`` under compose) listens on the
    loopback address ``hosts`` maps it to (see :func:`private_hosts`).
    """
    import socket
    from urllib.parse import urlsplit

    hosts = hosts or {}
    if isinstance(endpoints, dict):
        endpoints = [[name, urlsplit(a).hostname, urlsplit(a).port] for name, a in endpoints.items()]
    ctl = socket.socket(fileno=fd)
    lock = threading.Lock()

    def accept(listener, name: str) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with lock:
                    ctl.send(name.encode())
                    _, fds, _, _ = socket.recv_fds(ctl, 16, 1)
            except OSError:
                conn.close()
                continue
            if not fds:
                conn.close()
                continue
            upstream = socket.socket(fileno=fds[0])
            upstream.setblocking(True)
            for sock in (conn, upstream):  # a relay must not add Nagle's delay to every small write
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass  # a guarded connection is a Unix socket to the grader
            _splice(conn, upstream)

    bound = set()
    for name, host, port in endpoints:
        host = (host or "").lower()
        address = "127.0.0.1" if host in ("localhost", "") else hosts.get(host, host)
        if not port or not address.startswith("127.") or (address, port) in bound:
            continue  # elsewhere, and no name to map: not reachable from here
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((address, int(port)))
        except OSError:
            listener.close()
            continue
        listener.listen(64)
        bound.add((address, port))
        threading.Thread(target=accept, args=(listener, name), daemon=True, name=f"lab-bridge-{name}").start()


def private_hosts(libc, hosts: dict) -> bool:
    """Our own ``/etc/hosts``, read-only, naming the loopback addresses that stand for ``hosts``' names."""
    if not hosts:
        return True
    text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    text += "".join(f"{address}\t{name}\n" for name, address in hosts.items())
    source = "/tmp/.lab-hosts"
    try:
        with open(source, "w") as f:
            f.write(text)
        ok = _mount(libc, source, "/etc/hosts", None, MS_BIND)
        os.unlink(source)  # the mount keeps it; the student's /tmp does not
    except OSError:
        return False
    if ok:
        _mount(libc, None, "/etc/hosts", None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    return ok


def _relay(pid: int, channel: Channel) -> None:
    """Outside the new PID namespace: wait for the sandboxed process and report how it ended."""
    channel.send({"event": "pid", "pid": pid})
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 0
            break
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    channel.send({"event": "exit", "code": code, "signal": sig})
    os._exit(0)


def isolate(cfg: dict, channel: Channel) -> str:
    """Shut this process in as far as the kernel allows; say how far that was."""
    workdir = cfg["workdir"]
    if not cfg.get("isolate", True):
        return "none"
    libc = _libc()
    root = os.geteuid() == 0
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWPID | (0 if root else CLONE_NEWUSER)
    if cfg.get("bridge_fd") is not None:
        flags |= CLONE_NEWNET
    if libc.unshare(flags) != 0:
        return "none"
    if not root:
        try:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"0 {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"0 {gid} 1")
        except OSError:
            return "none"
    pid = os.fork()
    if pid:
        _relay(pid, channel)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parts = ["namespaces"]
    if flags & CLONE_NEWNET and _loopback_up():
        parts.append("own network")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    hide = [h for h in cfg.get("hide", []) if os.path.isdir(h)]
    # What we need to run (the interpreter, site-packages, labkit) may sit under /tmp or a hidden
    # folder: hold on to it now, and bind it back, read-only, once those are covered.
    keeps = plan_keeps(needed_paths(workdir), ["/tmp", os.path.realpath("/tmp"), *hide], hide)
    held = {}
    for path in keeps:
        try:
            held[path] = os.open(path, os.O_PATH | os.O_DIRECTORY)
        except OSError:
            pass
    for path in hide:
        _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=000")
    for path in held:  # inside a hidden folder: a way through it (searchable, not listable) while we may write
        above = [h for h in hide if _under(path, h) and h != path]
        if above:
            try:
                os.makedirs(path, exist_ok=True)
                for h in above:
                    os.chmod(h, 0o111)
            except OSError:
                pass
    if _read_only(libc):
        parts.append("read-only fs")
    _mount(libc, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    if "own network" in parts and not private_hosts(libc, cfg.get("hosts") or {}):
        parts.append("no host names")
    # Outermost first: each bind carries the hiding mounts below it, so hidden folders stay hidden.
    lost = [path for path, fd in held.items() if not _keep(libc, fd, path)]
    for fd in held.values():
        os.close(fd)
    if any(_under(p, t) for p in lost for t in ("/tmp", os.path.realpath("/tmp"))):
        # Without them we could not run: give up the private /tmp (the real one stays read-only).
        libc.umount2(b"/tmp", MNT_DETACH)
    if os.path.isdir(workdir):  # not under /tmp: give it a fresh tmpfs of its own
        _mount(libc, "tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    else:
        os.makedirs(workdir)
        os.chmod(workdir, 0o1777)
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # Keep our uid (the interpreter may live where only we can read) but no privilege:
    # without capabilities the read-only mounts and hidden folders cannot be undone.
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if _drop_capabilities(libc):
        parts.append("no capabilities")
    return "+".join(parts)


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
    for which, soft, hard in settings:
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):
            pass


# --- running the student's code ---------------------------------------------------------


def without_check_calls(source: str) -> str:
    """The cell's code minus top-level ``check(...)`` calls: grading never runs the student's checks."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
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


def describe_error(exc: BaseException) -> dict:
    kind = "exception"
    if isinstance(exc, NotImplementedError):
        kind = "not_implemented"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SystemExit):
        kind = "exited"
    elif isinstance(exc, RecursionError):
        kind = "exception"
    message = str(exc)
    if len(message) > 300:
        message = message[:299] + "…"
    where = ""
    tb = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(tb):
        if frame.filename.startswith("<cell"):
            where = f"{frame.filename.strip('<>')}, line {frame.lineno}"
            break
    return {"kind": kind, "type": type(exc).__name__, "message": message, "where": where}


def run_cells(cells: list[dict], namespace: dict, channel: Channel) -> None:
    for cell in cells:
        index = cell["index"]
        end_strays()
        channel.send({"event": "cell_start", "index": index})
        try:
            code = compile(strip_magics(without_check_calls(cell["source"])), f"<cell {index}>", "exec")
            exec(code, namespace)
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the batch decides what it means
            if FORKED.is_set():
                os._exit(1)
            channel.send({"event": "cell_done", "index": index, "ok": False, "error": describe_error(exc)})
            continue
        if FORKED.is_set():  # a copy the student's code forked: it must not go on as a sandbox
            os._exit(0)
        channel.send({"event": "cell_done", "index": index, "ok": True})


def end_strays() -> None:
    """As PID 1 of our own namespace, stop every process a cell left behind (a fork bomb's included)."""
    if os.getpid() != 1:
        return  # without a PID namespace, kill(-1) would reach far beyond this sandbox
    for _ in range(20):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return
        except OSError:
            return
        time.sleep(0.01)


def jsonable(value):
    """The value as JSON data (tuples become lists), or raise TypeError naming the bad type."""
    return json.loads(json.dumps(value, allow_nan=False, ensure_ascii=False))


def invoke(fn, args: list, kwargs: dict) -> dict:
    """Call the student's function; its result as JSON data, or what went wrong."""
    if not callable(fn):
        return {"ok": False, "kind": "not_callable", "type": type(fn).__name__, "message": ""}
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - the student's failure is data for the check
        return {"ok": False, **describe_error(exc)}
    try:
        return {"ok": True, "value": jsonable(value)}
    except (TypeError, ValueError, RecursionError):
        return {"ok": False, "kind": "unserialisable", "type": type(value).__name__,
                "message": " ".join(repr(value).split())[:200]}


def serve_loop(namespace: dict, channel: Channel, app_fd: int | None = None) -> None:
    servers = {"__app_fd__": app_fd}
    while True:
        request = channel.receive()
        if request is None or request.get("op") == "bye":
            return
        reply = answer(request, namespace, servers)
        reply["id"] = request.get("id")  # the grader ignores replies that do not echo its request's id
        channel.send(reply)


def answer(request: dict, namespace: dict, servers: dict) -> dict:
    op, name = request.get("op"), request.get("name", "")
    if name not in namespace:
        return {"ok": False, "kind": "missing", "type": "", "message": name}
    if op == "call":
        return invoke(namespace[name], request.get("args", []), request.get("kwargs", {}))
    if op == "serve":
        try:
            if name not in servers:
                from labkit.grading.appserver import AppServer

                sock = None
                if servers.get("__app_fd__") is not None:  # the grader's listening socket, once
                    import socket

                    sock = socket.socket(fileno=servers.pop("__app_fd__"))
                servers[name] = AppServer(namespace[name], sock=sock).start()
            return {"ok": True, "url": servers[name].url}
        except BaseException as exc:  # noqa: BLE001
            return {"ok": False, **describe_error(exc)}
    return {"ok": False, "kind": "protocol", "type": "", "message": f"unknown op {op!r}"}


def main(argv: list[str]) -> None:
    channel = Channel(int(argv[0]), int(argv[1]))
    cfg = channel.receive()
    if cfg is None:
        return
    level = isolate(cfg, channel)
    if "own network" in level:
        bridge_services(cfg.get("bridge", cfg.get("services", {})), cfg["bridge_fd"], cfg.get("hosts"))
    os.chdir(cfg["workdir"])
    limit(cfg)
    flags: dict = {}
    budget = [int(cfg["output_bytes"])]
    sys.stdout = CappedStream(1, budget, flags)
    sys.stderr = CappedStream(2, budget, flags)
    sys.stdin = open(os.devnull)
    sys.argv = ["notebook"]
    os.register_at_fork(after_in_child=FORKED.set)
    # We may be PID 1 of our namespace: let the kernel reap whatever the student's code forks,
    # or zombies would use up the process limit (subprocess copes: returncode becomes 0).
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    channel.send({"event": "started", "isolation": level})
    # The student's own __main__, as in a kernel: pydantic and dataclasses look names up there.
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    run_cells(cfg["cells"], namespace, channel)
    end_strays()
    names = sorted(k for k, v in namespace.items() if not k.startswith("_"))
    channel.send({"event": "ready", "names": names, "truncated": bool(flags.get("truncated"))})
    serve_loop(namespace, channel, cfg.get("app_fd"))
    os._exit(0)  # never wait for threads the student's code left behind


if __name__ == "__main__":
    main(sys.argv[1:])
