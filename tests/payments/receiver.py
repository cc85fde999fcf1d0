"""A webhook receiver for the tests: records every request it gets and answers as it is told.

It runs in the test process (uvicorn in a thread), so a test can make it fail, slow it
down or stop it, and then read back exactly what the payments service sent.
"""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response

from labkit.grading.appserver import AppServer
from labkit.procs import wait_until


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Receiver:
    """Answers the next requests with ``script`` in turn, then ``default``, each after ``delay_s``."""

    script: list[int] = field(default_factory=list)
    default: int = 200
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: AppServer | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def anything(path: str, request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append(Received(time.time(), "/" + path, dict(request.headers), body))
                status = self.script.pop(0) if self.script else self.default
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            return Response(f'{{"status": {status}}}', status_code=status, media_type="application/json")

        return app

    def start(self) -> "Receiver":
        self.server = AppServer(self.app()).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url + "/webhooks"

    def answer(self, *statuses: int, then: int = 200) -> None:
        """Answer the next requests with ``statuses`` in turn, then ``then``."""
        with self.lock:
            self.script, self.default = list(statuses), then

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The requests so far, once there are at least ``count`` (bounded poll)."""
        assert wait_until(lambda: len(self.received) >= count, timeout=timeout, interval=0.01), \
            f"expected {count} requests, got {len(self.received)}"
        with self.lock:
            return list(self.received)
