"""A service moved out of the shared process into one of its own, for the lessons that need a real process.

``lab isolate orders`` stops orders inside the host and runs it as ``python -m labservices.host
--only orders --child``: same port, same data, same log file. Now it can be killed with
SIGKILL mid-batch or frozen with SIGSTOP, as in production. The host watches the child and
starts it again when it dies without being asked to (``restart: unless-stopped``), after a
pause that grows 1 s, 2 s, 4 s ... up to 30 s.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from labservices.common.declaration import Instance

log = logging.getLogger("labservices.host")

FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 30.0
READY_TIMEOUT_S = 30.0


@dataclass
class IsolatedRunner:
    """One service instance running as a child process of the host."""

    instance: Instance
    logs_dir: Path
    state: str = "stopped"  # stopped | starting | running | stopping | failed | restarting
    error: str | None = None
    restarts: int = 0
    started_at: float | None = None
    proc: asyncio.subprocess.Process | None = field(default=None, repr=False)
    watcher: asyncio.Task | None = field(default=None, repr=False)
    wanted: bool = False  # should be running: a death that was not asked for is restarted

    @property
    def name(self) -> str:
        return self.instance.name

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "labservices.host", "--only", self.name, "--child"]

    async def start(self) -> bool:
        if self.state in ("running", "starting"):
            return True
        self.wanted = True
        return await self._spawn()

    async def _spawn(self) -> bool:
        self.state, self.error = "starting", None
        log_path = self.logs_dir / f"{self.name}.log"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as out:
            out.write(f"--- {self.name}: isolated process starting ---\n".encode())
            self.proc = await asyncio.create_subprocess_exec(
                *self.command(), stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, self.instance.service.url_env: self.instance.url})
        proc = self.proc
        if not await self._ready(proc):
            if proc.returncode is None:
                await self._end(proc, signal.SIGKILL, 1.0)
            self.state = "failed"
            self.error = f"the isolated process exited ({proc.returncode}) before it answered; see `lab logs {self.name}`"
            return False
        self.state, self.started_at = "running", time.time()
        self.watcher = asyncio.create_task(self._watch(proc), name=f"watch:{self.name}")
        log.info("%s runs isolated (pid %s)", self.name, proc.pid, extra={"service": self.name, "pid": proc.pid})
        return True

    async def _ready(self, proc: asyncio.subprocess.Process) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(trust_env=False, timeout=1.0) as client:
            while time.monotonic() < deadline and proc.returncode is None:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.instance.url + "/health")).status_code == 200:
                        return True
                await asyncio.sleep(0.05)
        return False

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if not self.wanted or self.proc is not proc:
            return
        pause = FIRST_PAUSE_S
        while self.wanted and self.proc is proc:
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
            self.state, self.error = "restarting", f"the process was {how}; restarting in {pause:.0f} s"
            log.warning("%s %s", self.name, self.error, extra={"service": self.name})
            await asyncio.sleep(pause)
            if not self.wanted or self.proc is not proc:
                return
            self.restarts += 1
            if await self._spawn():
                return
            proc = self.proc
            code = proc.returncode if proc.returncode is not None else -9
            pause = min(pause * 2, LONGEST_PAUSE_S)

    async def stop(self) -> None:
        self.wanted = False
        proc = self.proc
        if self.watcher is not None:
            self.watcher.cancel()
            self.watcher = None
        if proc is not None and proc.returncode is None:
            self.state = "stopping"
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
            await self._end(proc, signal.SIGTERM, 5.0)
        self.proc, self.state, self.started_at = None, "stopped", None

    async def _end(self, proc: asyncio.subprocess.Process, sig: int, grace: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    def signal(self, sig: int) -> None:
        """Send a real signal to the process (SIGKILL, SIGSTOP, SIGCONT, SIGTERM)."""
        if self.pid is None:
            raise ProcessLookupError(f"{self.name} has no running process")
        if sig == signal.SIGSTOP:
            self.state = "frozen"
        elif sig == signal.SIGCONT and self.state == "frozen":
            self.state = "running"
        os.kill(self.pid, sig)

    def describe(self) -> dict:
        return {"name": self.name, "service": self.instance.service.name, "url": self.instance.url,
                "state": self.state, "error": self.error, "restarts": self.restarts,
                "started_at": self.started_at, "mode": "isolated", "pid": self.pid}
