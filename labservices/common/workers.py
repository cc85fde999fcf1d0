"""Background workers of a service (an outbox relay, a webhook sender, a consumer), kept alive.

A service passes ``workers=[...]`` to ``create_app``: each is ``async def worker(app)``,
started with the app and cancelled when it stops. A worker that raises is logged, counted
in ``lab_worker_restarts_total`` and started again after a growing pause (0.5 s doubling
to 30 s), as a process supervisor would, so one bad message does not stop a service for good.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from fastapi import FastAPI

log = logging.getLogger("labservices.workers")

Worker = Callable[[FastAPI], Awaitable[None]]
FIRST_PAUSE_S = 0.5
LONGEST_PAUSE_S = 30.0
HEALTHY_AFTER_S = 60.0  # a worker that ran this long starts again from the shortest pause


async def supervise(app: FastAPI, worker: Worker) -> None:
    """Run ``worker(app)`` until it returns; restart it after a pause whenever it raises."""
    name = getattr(worker, "__name__", repr(worker))
    pause = FIRST_PAUSE_S
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await worker(app)
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a crashed worker is restarted, never left dead
            if loop.time() - started > HEALTHY_AFTER_S:
                pause = FIRST_PAUSE_S
            log.exception("worker %s crashed; restarting in %.1f s", name, pause, extra={"worker": name})
            app.state.metrics.worker_restarts(name).inc()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)


def start(app: FastAPI, workers: list[Worker]) -> list[asyncio.Task]:
    return [asyncio.create_task(supervise(app, w), name=f"worker:{getattr(w, '__name__', w)}") for w in workers]


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
