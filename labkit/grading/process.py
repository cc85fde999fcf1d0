"""One start of the sandboxed child, as the grader holds it: its pipes, its process ids, how it ended.

:class:`SandboxProcess` starts ``python -m labkit.grading.child`` with three pipes (requests
to it, answers from it, and reports from its outer process, which the sandbox does not
hold), hands it the app's listening socket and a bridge socket, puts it in the notebook's
cgroup before it reads a byte, and sends its configuration. Then it sends requests and
reads answers (bounded lines, checked by ``protocol``), learns the sandbox's PID 1 from
the outer process (and from the kernel, which must agree) and how it ended, and kills it.

What it trusts: its own pipe ends, the kernel and the outer process. Answers on the
reply pipe are data.
"""
from __future__ import annotations

import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable

from . import protocol
from .cgroup import ControlGroup
from .endpoints import Bridge, Endpoint
from .protocol import LineBuffer

TIMEOUT = object()  # what next() and exchange() return when the child stays silent too long


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


class SandboxProcess:
    """The child of one start; see the module docstring."""

    def __init__(self, *, config: dict, env: dict[str, str], workdir: str, app_sock: socket.socket,
                 cgroup: ControlGroup, endpoints: dict[str, Endpoint], refused: list[str],
                 on_output: Callable[[bytes], None]) -> None:
        self.cgroup = cgroup
        self.exit: dict | None = None
        self.inner_fd: int | None = None  # pidfds: signals that cannot reach a recycled process id
        self._replies = LineBuffer()
        self._ctl = LineBuffer(4096)
        self._lock = threading.Lock()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        out_r, out_w = os.pipe()
        bridge, bridge_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child_fds = (req_r, rep_w, ctl_w, app_sock.fileno(), bridge_child.fileno())
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "labkit.grading.child", str(req_r), str(rep_w), str(ctl_w)],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=child_fds, env=env, cwd=workdir,
                start_new_session=True,
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
        self.outer_fd = _pidfd(self.proc.pid)
        cgroup.add(self.proc.pid)  # before it reads its configuration: no student code has run yet
        self.req_fd: int | None = req_w
        self.rep_fd: int | None = rep_r
        self.ctl_fd: int | None = ctl_r
        self.bridge = Bridge(bridge, endpoints, refused)
        threading.Thread(target=self._read_output, args=(out_r, on_output), daemon=True).start()
        self.send({**config, "app_fd": child_fds[3], "bridge_fd": child_fds[4]})

    # -- talking -----------------------------------------------------------------------------------

    def send(self, message: dict) -> None:
        if self.req_fd is None:
            raise OSError("no sandbox")
        view = memoryview(protocol.encode(message))
        while view:
            view = view[os.write(self.req_fd, view):]

    def exchange(self, message: dict, timeout: float):
        """Send one request; its checked reply, None if the child ended, TIMEOUT; ProtocolError if it lied."""
        message = {**message, "id": secrets.token_hex(8)}
        try:
            self.send(message)
        except OSError:
            pass  # the child is gone: next() sees the end of its pipe
        reply = self.next(timeout)
        if reply is TIMEOUT or reply is None:
            return reply
        return protocol.check_reply(reply, message)

    def next(self, timeout: float):
        """The child's next message; None once it has gone; TIMEOUT when it is silent too long."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._replies.line()
            if line is not None:
                return protocol.decode(line)
            if self.rep_fd is None:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return TIMEOUT
            poller = select.poll()
            poller.register(self.rep_fd, select.POLLIN)
            if self.ctl_fd is not None:
                poller.register(self.ctl_fd, select.POLLIN)
            for fd, _ in poller.poll(min(left, 0.5) * 1000):
                if fd == self.ctl_fd:
                    self._read_ctl()
                elif fd == self.rep_fd:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        return None
                    self._replies.feed(chunk)

    def _read_ctl(self) -> None:
        """The outer process's reports (trusted: no student code runs there); checked all the same."""
        chunk = os.read(self.ctl_fd, 4096)
        if not chunk:
            os.close(self.ctl_fd)
            self.ctl_fd = None
            return
        try:
            self._ctl.feed(chunk)
        except protocol.ProtocolError:
            return
        while (line := self._ctl.line()) is not None:
            try:
                msg = protocol.decode(line)
            except protocol.ProtocolError:
                continue
            if msg.get("event") == "pid" and isinstance(msg.get("pid"), int) and self.inner_fd is None:
                # Only our own child's child, as the kernel says, and held by a pidfd from now on.
                if _parent_of(msg["pid"]) == self.proc.pid:
                    self.inner_fd = _pidfd(msg["pid"])
            elif msg.get("event") == "exit":
                code, sig = msg.get("code"), msg.get("signal")
                self.exit = {"code": code if isinstance(code, int) else None,
                             "signal": sig if isinstance(sig, int) and 0 < sig < 65 else None}

    # -- its end -----------------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.rep_fd is not None and self.proc.poll() is None

    def ended(self) -> tuple[int | None, int | None]:
        """How the sandbox ended (exit code, signal): as its outer process reports it, else as the kernel does."""
        deadline = time.monotonic() + 5
        while self.exit is None and self.ctl_fd is not None and time.monotonic() < deadline:
            poller = select.poll()
            poller.register(self.ctl_fd, select.POLLIN)
            if poller.poll(200):
                self._read_ctl()
        if self.exit is not None:
            return self.exit["code"], self.exit["signal"]
        try:
            returncode = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None, None
        return (None, -returncode) if returncode < 0 else (returncode, None)

    def kill(self) -> None:
        """SIGKILL the sandbox: its PID 1 (by pidfd), with which its whole PID namespace ends (any thread may call).

        The outer process then reaps it and exits by itself, so no process is left without a
        parent to reap it. Before the sandbox's PID 1 is known, the outer process and everything
        in the cgroup are killed instead.
        """
        with self._lock:
            if self.inner_fd is not None:
                try:
                    signal.pidfd_send_signal(self.inner_fd, signal.SIGKILL)
                    return
                except OSError:
                    pass
            self._kill_outer()

    def _kill_outer(self) -> None:
        if self.outer_fd is not None:
            try:
                signal.pidfd_send_signal(self.outer_fd, signal.SIGKILL)
            except OSError:
                pass
        self.cgroup.kill()

    def reap(self) -> None:
        """Wait for the killed child and close our ends of its pipes (only the thread that drives it)."""
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill_outer()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        with self._lock:
            for name in ("inner_fd", "outer_fd", "req_fd", "rep_fd", "ctl_fd"):
                fd = getattr(self, name)
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                    setattr(self, name, None)
        self.bridge.close()  # its connections, guarded ones included, end with the child that opened them

    @staticmethod
    def _read_output(fd: int, on_output: Callable[[bytes], None]) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                on_output(chunk)
