"""A student's ASGI app (FastAPI) served by uvicorn in a thread, on a free loopback port.

Used by ``check("ex03")`` in the student's kernel and by the sandboxed child in
``lab grade``; either way the checks drive the app over real HTTP. When
``LAB_RECEIVER_HOST`` is set (docker compose sets it to ``jupyterlab``), an app started
without a socket listens on every interface and names itself by that host, so a service
in another container (the payments service delivering webhooks, ex04) can reach it.
"""
from __future__ import annotations

import os
import socket
import threading
import time

from labkit.procs import free_port

NOT_IMPLEMENTED_HEADER = "X-Lab-Not-Implemented"
EXCEPTION_HEADER = "X-Lab-Exception"


def _mark_failures(app) -> None:
    """Make a route's exception visible to the checks: ``NotImplementedError`` → 501, others → 500.

    Both answers carry a header naming what was raised, so a check can say "not
    implemented yet" or "your handler raised KeyError" instead of a bare status.
    The student's own handlers for these exceptions, if any, win.
    """
    add = getattr(app, "add_exception_handler", None)
    handlers = getattr(app, "exception_handlers", None)
    if add is None or handlers is None:
        return
    from starlette.responses import JSONResponse

    async def not_implemented(request, exc):
        return JSONResponse({"detail": "not implemented"}, status_code=501, headers={NOT_IMPLEMENTED_HEADER: "1"})

    async def crashed(request, exc):
        text = f"{type(exc).__name__}: {exc}"[:200].encode("ascii", "backslashreplace").decode()
        return JSONResponse({"detail": "internal error"}, status_code=500, headers={EXCEPTION_HEADER: text})

    try:
        if NotImplementedError not in handlers:
            add(NotImplementedError, not_implemented)
        if Exception not in handlers and 500 not in handlers:
            add(Exception, crashed)
    except RuntimeError:  # the app already started elsewhere: nothing to add then
        pass


class AppServer:
    """Serve ``app`` on 127.0.0.1 until :meth:`stop`."""

    def __init__(self, app, sock=None) -> None:
        """``sock``: a listening socket to serve on (the grader's, so it answers outside the sandbox)."""
        if not callable(app):
            raise TypeError(f"app must be an ASGI application such as FastAPI(), not {type(app).__name__}")
        self.app = app
        host = "127.0.0.1"
        if sock is None and os.environ.get("LAB_RECEIVER_HOST"):
            host = os.environ["LAB_RECEIVER_HOST"]
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", 0))
            sock.listen(64)
        self.sock = sock
        self.port = sock.getsockname()[1] if sock is not None else free_port()
        self.url = f"http://{host}:{self.port}"
        self.server = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> "AppServer":
        import uvicorn

        _mark_failures(self.app)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="critical",
                                access_log=False, lifespan="auto", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="lab-appserver", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            time.sleep(0.01)
        self.stop()
        if self.error is not None:
            raise RuntimeError(f"the app did not start: {type(self.error).__name__}: {self.error}")
        raise RuntimeError(f"the app did not start listening within {timeout:.0f} s")

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock] if self.sock is not None else None)
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.error = exc

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=3)
