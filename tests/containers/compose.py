"""docker-compose.yml brought up under podman, with an override for what this machine lacks.

docker-compose (Debian's, the one that validates the file in tests/project) talks to podman's
Docker-compatible API. The override is written for each run from the compose file's own
services, so a service added later is covered too, and says only what this machine lacks:

- No bridge network, and so no DNS for the service names: every service joins the lab's
  private network namespace (:class:`~tests.containers.podman.Podman`), where the service
  names resolve to 127.0.0.1 (``extra_hosts``). Published ports mean nothing there; podman
  drops them.
- Debian's podman 4.3 splits a ``CMD`` healthcheck's arguments at spaces when it comes
  through the Docker API (``python -c "import x; ..."`` becomes ``python -c import x;``):
  the override gives the same command in ``CMD-SHELL`` form.
- No systemd, whose timers run podman's healthchecks: :meth:`ComposeStack.up` runs each
  service's check at the compose file's interval while docker-compose waits for
  ``depends_on: condition: service_healthy`` exactly as it would under Docker.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

import yaml

from tests.containers.podman import Podman

PROJECT = "integrationlabtest"  # docker-compose v1 keeps only [a-z0-9] of a project name


def parse_duration(value: str | int | float | None, default: float) -> float:
    """Compose's durations (``5s``, ``1m30s``, ``500ms``) in seconds."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    i = 0
    while i < len(value):
        if value[i].isdigit() or value[i] == ".":
            number += value[i]
            i += 1
            continue
        unit = value[i:i + 2] if value[i:i + 2] in units else value[i]
        total += float(number) * units[unit]
        number, i = "", i + len(unit)
    return total + (float(number) if number else 0.0)


def shell_form(test: list[str] | str) -> list[str] | str:
    """A healthcheck's ``CMD`` form as the same command in ``CMD-SHELL`` form (others unchanged)."""
    if isinstance(test, list) and test and test[0] == "CMD":
        return ["CMD-SHELL", shlex.join(test[1:])]
    return test


class ComposeStack:
    """One run of the compose file: up, its healthchecks, exec in a service, down."""

    def __init__(self, podman: Podman, compose_file: Path, project: str = PROJECT) -> None:
        self.podman = podman
        self.compose_file = compose_file
        self.project = project
        self.override = podman.logs / "compose.override.yml"
        self.services: dict = {}

    # -- the files ------------------------------------------------------------------------
    def config(self) -> dict:
        """The compose file as docker-compose reads it (alone, without the override)."""
        out = subprocess.run(["docker-compose", "-f", str(self.compose_file), "config"],
                             capture_output=True, text=True, timeout=60, env=self.podman.env())
        if out.returncode != 0:
            raise RuntimeError(f"docker-compose cannot read {self.compose_file}:\n{out.stderr}")
        self.services = yaml.safe_load(out.stdout)["services"]
        return self.services

    def override_for(self, services: dict) -> dict:
        """What this machine lacks, for each of ``services`` (see the module's docstring)."""
        hosts = [f"{name}:127.0.0.1" for name in sorted(services)]
        out = {}
        for name, svc in services.items():
            entry = {"network_mode": self.podman.network_mode, "extra_hosts": hosts}
            test = (svc.get("healthcheck") or {}).get("test")
            if test is not None and shell_form(test) != test:
                entry["healthcheck"] = {"test": shell_form(test)}
            out[name] = entry
        return {"services": out}

    def write_override(self) -> Path:
        services = self.services or self.config()
        header = ("# Written by tests/containers/compose.py for one run: what this machine lacks for\n"
                  "# docker-compose.yml (a bridge network and its DNS; a podman whose Docker API keeps a\n"
                  "# CMD healthcheck's arguments whole), and nothing else.\n")
        self.override.write_text(header + yaml.safe_dump(self.override_for(services), sort_keys=False))
        return self.override

    # -- docker-compose -------------------------------------------------------------------
    def argv(self, *args: str) -> list[str]:
        return ["docker-compose", "-p", self.project, "-f", str(self.compose_file), "-f", str(self.override), *args]

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout,
                              env=self.podman.env(), cwd=self.compose_file.parent)

    def containers(self) -> dict[str, dict]:
        """This project's containers by service name: podman's ``ps`` record of each."""
        rows = json.loads(self.podman.run("ps", "-a", "--format", "json", "--filter",
                                          f"label=com.docker.compose.project={self.project}").stdout or "[]")
        return {row["Labels"]["com.docker.compose.service"]: row for row in rows}

    def container(self, service: str) -> str:
        return self.containers()[service]["Names"][0]

    def health(self, service: str) -> str:
        return self._health(self.container(service))

    def _health(self, container: str) -> str:
        return self.podman.run("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()

    def up(self, timeout: float = 600) -> float:
        """``docker-compose up -d``, running the healthchecks until every service is healthy; the seconds it took."""
        started = time.monotonic()
        log = open(self.podman.logs / "compose-up.log", "w")
        proc = subprocess.Popen(self.argv("up", "-d", "--no-build"), stdout=log, stderr=subprocess.STDOUT,
                                env=self.podman.env(), cwd=self.compose_file.parent)
        last_run: dict[str, float] = {}
        try:
            while True:
                code = proc.poll()
                if code not in (None, 0):
                    raise self._failure(f"docker-compose up failed ({code})")
                status = self._run_due_checks(last_run)
                if code == 0 and set(status) == set(self.services) and all(s == "healthy" for s in status.values()):
                    return time.monotonic() - started
                failed = [f"{name} {s}" for name, s in status.items() if s in ("unhealthy", "exited", "stopped")]
                if failed or time.monotonic() - started > timeout:
                    why = ", ".join(failed) if failed else f"not healthy after {timeout:.0f} s"
                    raise self._failure(f"the compose stack did not come up ({why})")
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
            log.close()

    def _run_due_checks(self, last_run: dict[str, float]) -> dict[str, str]:
        """Run every healthcheck whose interval has passed (podman would, from systemd timers)."""
        status = {}
        for service, row in self.containers().items():
            check = self.services.get(service, {}).get("healthcheck") or {}
            name = row["Names"][0]
            interval = parse_duration(check.get("interval"), 30.0)
            if row["State"] == "running" and time.monotonic() - last_run.get(service, -1e9) >= interval:
                last_run[service] = time.monotonic()
                self.podman.run("healthcheck", "run", name, check=False, timeout=60)
            status[service] = self._health(name) if row["State"] == "running" else row["State"]
        return status

    def _failure(self, what: str) -> RuntimeError:
        """An error saying ``what``, docker-compose's output and each container's state and log (kept in failure.txt too)."""
        up_log = (self.podman.logs / "compose-up.log").read_text(errors="replace")[-3000:]
        text = f"{what}.\n{up_log}\n{self.describe()}"
        (self.podman.logs / "failure.txt").write_text(text)
        return RuntimeError(f"{text}\n(also in {self.podman.logs / 'failure.txt'})")

    def describe(self) -> str:
        """Each container's state, health and last log lines: what a failure message shows."""
        parts = []
        for service, row in sorted(self.containers().items()):
            name = row["Names"][0]
            inspect = json.loads(self.podman.run("inspect", name).stdout)[0]
            health = (inspect["State"].get("Health") or {})
            last = (health.get("Log") or [{}])[-1]
            logs = self.podman.run("logs", "--tail", "15", name, check=False)
            parts.append(f"--- {service} ({name}): {row['State']}, health {health.get('Status')}, "
                         f"last check: {str(last.get('Output', '')).strip()[-300:]!r}\n{(logs.stdout + logs.stderr)[-2000:]}")
        return "\n".join(parts)

    def exec(self, service: str, *argv: str, workdir: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        args = ["exec", *(["-w", workdir] if workdir else []), self.container(service), *argv]
        return self.podman.run(*args, check=False, timeout=timeout)

    def down(self) -> subprocess.CompletedProcess:
        """``docker-compose down``: containers, the volumes they made and any network, gone."""
        return self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=300)
