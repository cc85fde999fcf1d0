"""The sandbox's side of its network: listeners where its services seem to be, tunnelled to the grader.

In its own network namespace the sandbox has only a loopback device. For each endpoint
(``[name, host, port]``) it listens where the address says (a host name that is not
loopback listens on the loopback address the grader mapped it to, see ``jail.hosts``);
each connection the student's code opens there is matched with one the grader opens to
the real service or broker (through a guard, for the shared brokers) and hands over as a
file descriptor on a Unix socket. So the sandbox reaches its own services and nothing
else on the machine.

:func:`listen` binds (it may need privilege for a low port), :func:`serve` starts the
threads, after the sandbox has given up its privileges.
"""
from __future__ import annotations

import fcntl
import socket
import struct
import threading

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> bool:
    """Bring up ``lo`` in a new network namespace (it starts down)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
        return True
    except OSError:
        return False


def listen(endpoints, hosts: dict | None = None) -> list[tuple[socket.socket, str]]:
    """A listening socket for each endpoint the sandbox can hold (loopback addresses only)."""
    hosts = hosts or {}
    bound: dict[tuple[str, int], socket.socket] = {}
    listeners = []
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
        bound[(address, port)] = listener
        listeners.append((listener, name))
    return listeners


def serve(listeners: list[tuple[socket.socket, str]], fd: int) -> None:
    """Accept on every listener and tunnel each connection through the grader (``fd``: the control socket)."""
    ctl = socket.socket(fileno=fd)
    lock = threading.Lock()

    def accept(listener: socket.socket, name: str) -> None:
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
            splice(conn, upstream)

    for listener, name in listeners:
        threading.Thread(target=accept, args=(listener, name), daemon=True, name=f"lab-bridge-{name}").start()


def splice(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways between two sockets until both sides are done, then close them."""
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
