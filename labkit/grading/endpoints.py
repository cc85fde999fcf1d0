"""The grader's side of a sandbox's network: where its code may connect, and the bridge that connects it.

The sandbox has a network namespace of its own (``bridge.py`` is its side). For each
:class:`Endpoint` it listens where the address says; each connection its code opens
there comes to the grader's :class:`Bridge` as a request on a Unix socket, and the
bridge opens the real connection and hands it over as a file descriptor: plain to the
worker's own services, through a guard (``guards``, ``kafka_namespace``) in the grader's
process to the lab's shared brokers.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

MAX_REFUSALS = 20  # notes about cut connections kept per notebook


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


class Bridge:
    """Serves one sandbox's requests for connections until :meth:`close`, which also ends every guarded one."""

    def __init__(self, sock: socket.socket, endpoints: dict[str, Endpoint], refused: list[str]) -> None:
        self.sock = sock
        self.endpoints = endpoints
        self.refused = refused  # what the guards cut off, for the notes
        self._relayed: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, args=(sock,), daemon=True, name="lab-bridge").start()

    def close(self) -> None:
        self.sock.close()
        with self._lock:
            relayed, self._relayed = self._relayed, set()
        for sock in relayed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self, bridge: socket.socket) -> None:
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

        with self._lock:
            self._relayed = {sock for sock in self._relayed if sock.fileno() != -1}  # the closed ones are done
            self._relayed.update((ours, upstream))

        def refused(what: str) -> None:
            with self._lock:
                if what not in self.refused and len(self.refused) < MAX_REFUSALS:
                    self.refused.append(what)

        relay(ours, upstream, guard, refused)
