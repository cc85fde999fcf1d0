"""Starting, finding and stopping local processes: what the stack and the tests share."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence

import requests

# Ports handed out for services to listen on come from below Linux's ephemeral range (32768–60999):
# a port from inside it may be taken by any outgoing connection between the check and the bind.
LISTEN_PORTS = (20000, 32000)


def listen_ports() -> tuple[int, int]:
    """The range ports are drawn from: ``LAB_PORT_RANGE=26000-32000`` narrows it (each parallel test run has its own)."""
    low, _, high = os.environ.get("LAB_PORT_RANGE", "").partition("-")
    if low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) <= 65536:
        return int(low), int(high)
    return LISTEN_PORTS


_HANDED_OUT: set[int] = set()  # ports given to callers that may not be listening yet


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now, outside the range outgoing connections draw from.

    Never one this process handed out before: a stack's thirty addresses are chosen before any of
    them listens, and two of them drawing the same port (about one host in fifty) left a service
    unable to start.
    """
    for _ in range(200):
        port = random.randrange(*listen_ports())
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(argv: Sequence[str], *, env: dict[str, str] | None = None, log_path: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start ``argv`` in its own session (so it outlives the caller), output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a pid apart from its reuse)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, counted after the parenthesised command name (which may hold spaces).
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(pid: int | None, started: int | None = None) -> bool:
    """True if ``pid`` runs and, when ``started`` is given, is the same process we started."""
    if not pid:
        return False
    now = start_time(pid)
    if now is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    if state == "Z":
        return False
    return started is None or now == started


def rss_bytes(pid: int | None) -> int | None:
    """Resident memory of ``pid`` and all its descendants, or None if it is gone."""
    if not pid or not alive(pid):
        return None
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def pss_bytes(pid: int | None) -> int | None:
    """Proportional memory (PSS: shared pages counted once, as Binder's limit counts them) of ``pid``
    and all its descendants, or None if it is gone."""
    from labservices.host.memory import pss_bytes as one

    if not pid or not alive(pid):
        return None
    return sum(one(p) or 0 for p in [pid, *descendants(pid)])


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def terminate(pid: int, started: int | None = None, timeout: float = 5.0) -> bool:
    """Stop ``pid``'s process group politely, then by force. False if it was not ours or not running."""
    if not alive(pid, started):
        return False
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return False
    group = pgid == pid  # we start every component as its own session leader
    kill = (lambda sig: os.killpg(pgid, sig)) if group else (lambda sig: os.kill(pid, sig))
    try:
        kill(signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        _reap(pid)
        time.sleep(0.05)
    else:
        try:
            kill(signal.SIGKILL)
        except ProcessLookupError:
            pass
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05,
               while_alive: int | None = None) -> bool:
    """Poll ``check`` until it holds; give up after ``timeout`` or once ``while_alive`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if while_alive is not None and not alive(while_alive):
            _reap(while_alive)
            return check()
        time.sleep(interval)
    return False


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False
