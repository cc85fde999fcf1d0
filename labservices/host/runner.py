"""One service inside the host: its app, its own listening socket, its own uvicorn server.

Stopping a service closes just its socket (callers get a real "connection refused") while
every other service in the process goes on answering; starting it builds a fresh app, as a
new process would (in-memory state gone, the SQLite file kept).
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field

import uvicorn

from labservices.common.context import service_var
from labservices.common.declaration import Instance

log = logging.getLogger("labservices.host")


class HostedServer(uvicorn.Server):
    """A uvicorn server that shares its loop: no signal handlers, stops at once when asked."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wake = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self):  # the host owns SIGTERM/SIGINT, not each server
        yield

    def request_exit(self) -> None:
        self.should_exit = True
        self._wake.set()

    async def main_loop(self) -> None:
        # uvicorn polls should_exit ten times a second; fifteen servers would wake 150 times a
        # second for nothing. Tick once a second (the Date header) and wake at once on a stop.
        counter = 0
        while not await self.on_tick(counter):
            counter += 10  # on_tick refreshes the Date header when counter % 10 == 0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)


BUILD_LOCK = threading.Lock()


@dataclass
class Runner:
    """The life of one service instance in the host: stopped → starting → running → stopping → stopped."""

    instance: Instance
    bind_host: str = "127.0.0.1"
    state: str = "stopped"  # stopped | starting | running | stopping | failed
    error: str | None = None
    restarts: int = 0
    started_at: float | None = None
    server: HostedServer | None = field(default=None, repr=False)
    task: asyncio.Task | None = field(default=None, repr=False)
    on_exit: object = field(default=None, repr=False)  # called with the runner when serving ends by itself

    @property
    def name(self) -> str:
        return self.instance.name

    def _build(self):
        service_var.set(self.name)  # this thread's context: import and build logs go to the service's file
        # One build at a time: services built side by side in threads import the same modules at once,
        # and Python's import locks then report a deadlock on a cycle (orders and catalog both import
        # labservices.common.events). The GIL serialises the imports anyway; this costs nothing.
        with BUILD_LOCK:
            return self.instance.service.load_factory()(self.instance)

    async def start(self) -> bool:
        """Build the app, bind its port and serve; False (with ``error`` set) if any step fails."""
        if self.state in ("running", "starting"):
            return True
        self.state, self.error = "starting", None
        # A fresh context: a service started by a control request must not inherit that request's id.
        clean = contextvars.Context()
        try:
            app = await asyncio.get_running_loop().run_in_executor(None, clean.run, self._build)
        except Exception as exc:  # noqa: BLE001 - one broken service must not take the host down
            return self._failed(f"could not build the app: {type(exc).__name__}: {exc}", exc)
        try:
            sock = bind(self.bind_host, self.instance.port)
        except OSError as exc:
            return self._failed(f"port {self.instance.port} is not free ({exc.strerror or exc})", None)
        config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, timeout_graceful_shutdown=2,
                                server_header=False)
        self.server = HostedServer(config)
        self.task = contextvars.Context().run(asyncio.create_task, self._serve(self.server, sock, app),
                                              name=f"serve:{self.name}")
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.005)
        if self.server.started:
            self.state, self.started_at = "running", time.time()
            log.info("%s listening on %s", self.name, self.instance.url, extra={"service": self.name})
            return True
        await asyncio.gather(self.task, return_exceptions=True)
        reason = getattr(app.state, "startup_error", None) or "its start-up (lifespan) failed"
        return self._failed(f"application start-up failed: {reason}", None)

    async def _serve(self, server: HostedServer, sock: socket.socket, app) -> None:
        service_var.set(self.name)  # every request, worker and thread of this server inherits it
        try:
            await server.serve(sockets=[sock])
        except SystemExit:
            pass  # uvicorn exits this way when the app's start-up fails; the runner reports it
        except Exception:  # noqa: BLE001
            log.exception("%s stopped serving after an error", self.name, extra={"service": self.name})
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            if self.state == "running":  # nobody asked it to stop: a crash
                self.state, self.error = "failed", "stopped serving unexpectedly; see its log"
                if callable(self.on_exit):
                    self.on_exit(self)

    async def stop(self, timeout: float = 5.0) -> None:
        """Close the socket, let requests in flight finish (2 s at most), run the app's shutdown."""
        if self.server is None or self.task is None:
            self.state = "stopped" if self.state != "failed" else self.state
            return
        self.state = "stopping"
        self.server.request_exit()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except asyncio.TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self.server = self.task = None
        self.state, self.started_at = "stopped", None
        log.info("%s stopped", self.name, extra={"service": self.name})

    def _failed(self, reason: str, exc: BaseException | None) -> bool:
        self.state, self.error = "failed", reason
        log.error("%s did not start: %s", self.name, reason, extra={
            "service": self.name, "trace": "".join(traceback.format_exception(exc))[-4000:] if exc else None})
        return False

    def describe(self) -> dict:
        return {"name": self.name, "service": self.instance.service.name, "url": self.instance.url,
                "state": self.state, "error": self.error, "restarts": self.restarts,
                "started_at": self.started_at, "mode": "host"}


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (SO_REUSEADDR, so a quick restart finds it free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # Nagle's algorithm meets delayed ACKs and every keep-alive request waits 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(False)
    except OSError:
        sock.close()
        raise
    return sock
