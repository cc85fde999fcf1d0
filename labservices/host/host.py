"""The host: every lab HTTP service in one process and one asyncio loop, each on its own port.

One Python process of ~50 MB instead of one per service (Binder gives the whole lab about
2 GB). Each service still has its own port, address, SQLite file, ``/docs``, log file, metrics
and chaos switches, and can be stopped, started, restarted or moved into a process of its own
(``isolate``) without touching the others. The host restarts a service that stops serving by
itself, and a service that fails to start is reported with its reason while the rest run.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal as signals
from pathlib import Path

from labservices.common.declaration import Instance
from labservices.common.declaration import bind_host as default_bind_host
from labservices.common.declaration import instances

from .isolated import IsolatedRunner
from .memory import pss_bytes, rss_bytes
from .runner import Runner
from .watchdog import LoopWatchdog

log = logging.getLogger("labservices.host")

FIRST_PAUSE_S = 0.5
LONGEST_PAUSE_S = 30.0
SIGNALS = {"KILL": signals.SIGKILL, "STOP": signals.SIGSTOP, "CONT": signals.SIGCONT, "TERM": signals.SIGTERM,
           "INT": signals.SIGINT}


class HostError(Exception):
    """An operation the host cannot do; ``status`` is the HTTP status the control API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Host:
    def __init__(self, logs_dir: Path | None = None, bind_host: str | None = None) -> None:
        self.logs_dir = logs_dir
        self.bind_host = bind_host or default_bind_host()
        self.instances = {i.name: i for i in instances()}
        self.runners: dict[str, Runner | IsolatedRunner] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._restarts: set[asyncio.Task] = set()
        self.watchdog: LoopWatchdog | None = None

    # --- lookup ---------------------------------------------------------------------

    def instance(self, name: str) -> Instance:
        if name not in self.instances:
            known = ", ".join(self.instances)
            raise HostError(404, f"No lab service is called {name!r}. Known services: {known}.")
        return self.instances[name]

    def runner(self, name: str) -> Runner | IsolatedRunner:
        instance = self.instance(name)
        if name not in self.runners:
            self.runners[name] = self._in_host(instance)
        return self.runners[name]

    def _in_host(self, instance: Instance) -> Runner:
        return Runner(instance, bind_host=self.bind_host, on_exit=self._crashed)

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    # --- operations -----------------------------------------------------------------

    async def start_all(self, names: list[str]) -> dict[str, bool]:
        """Start ``names`` side by side; a failure of one is recorded, never raised."""
        results = await asyncio.gather(*(self.start(n) for n in names))
        return {n: r["state"] == "running" for n, r in zip(names, results)}

    async def start(self, name: str) -> dict:
        async with self._lock(name):
            runner = self.runner(name)
            await runner.start()
            return runner.describe()

    async def stop(self, name: str) -> dict:
        async with self._lock(name):
            runner = self.runner(name)
            await runner.stop()
            return runner.describe()

    async def restart(self, name: str) -> dict:
        async with self._lock(name):
            runner = self.runner(name)
            await runner.stop()
            runner.restarts += 1
            await runner.start()
            return runner.describe()

    async def isolate(self, name: str) -> dict:
        """Move ``name`` into a process of its own (same port, data and log)."""
        async with self._lock(name):
            runner = self.runner(name)
            if isinstance(runner, IsolatedRunner):
                await runner.start()
                return runner.describe()
            await runner.stop()
            isolated = IsolatedRunner(self.instance(name), self.logs_dir or Path.cwd())
            isolated.restarts = runner.restarts
            self.runners[name] = isolated
            await isolated.start()
            return isolated.describe()

    async def join(self, name: str) -> dict:
        """Bring an isolated service back into the host process."""
        async with self._lock(name):
            runner = self.runner(name)
            if isinstance(runner, IsolatedRunner):
                await runner.stop()
                back = self._in_host(self.instance(name))
                back.restarts = runner.restarts
                self.runners[name] = runner = back
            await runner.start()
            return runner.describe()

    def signal(self, name: str, signal_name: str) -> dict:
        runner = self.runner(name)
        sig = SIGNALS.get(signal_name.upper().removeprefix("SIG"))
        if sig is None:
            raise HostError(400, f"Unknown signal {signal_name!r}; use one of {', '.join(SIGNALS)}.")
        if not isinstance(runner, IsolatedRunner):
            raise HostError(409, f"{name} runs inside the shared host process, where a signal would stop every "
                                 f"service. Move it into a process of its own first: `lab isolate {name}`.")
        try:
            runner.signal(sig)
        except ProcessLookupError as exc:
            raise HostError(409, f"{exc}; start it with `lab start {name}`.") from None
        return runner.describe()

    def _crashed(self, runner: Runner) -> None:
        """A service stopped serving without being asked: start it again after a growing pause."""
        task = asyncio.get_running_loop().create_task(self._restart_later(runner.name))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart_later(self, name: str) -> None:
        pause = FIRST_PAUSE_S
        while True:
            log.warning("%s crashed; restarting in %.1f s", name, pause, extra={"service": name})
            await asyncio.sleep(pause)
            async with self._lock(name):
                runner = self.runners.get(name)
                if not isinstance(runner, Runner) or runner.state != "failed":
                    return  # stopped, restarted or isolated meanwhile
                runner.restarts += 1
                if await runner.start():
                    return
            pause = min(pause * 2, LONGEST_PAUSE_S)

    async def shutdown(self) -> None:
        for task in list(self._restarts):
            task.cancel()
        await asyncio.gather(*(r.stop() for r in self.runners.values()), return_exceptions=True)

    # --- reports --------------------------------------------------------------------

    def describe(self) -> list[dict]:
        out = []
        for name, instance in self.instances.items():
            runner = self.runners.get(name)
            out.append(runner.describe() if runner else
                       {"name": name, "service": instance.service.name, "url": instance.url, "state": "stopped",
                        "error": None, "restarts": 0, "started_at": None, "mode": "host"})
        return out

    def memory(self) -> dict:
        pid = os.getpid()
        children = {r.name: {"pid": r.pid, "pss_bytes": pss_bytes(r.pid), "rss_bytes": rss_bytes(r.pid)}
                    for r in self.runners.values() if isinstance(r, IsolatedRunner) and r.pid}
        return {"host": {"pid": pid, "pss_bytes": pss_bytes(pid), "rss_bytes": rss_bytes(pid)}, "isolated": children}
