"""What Prometheus and Alertmanager share as lab components: found or installed, run by a script, ready at /-/ready.

Both are Go servers from Debian packages: `lab up` installs them once when it may (root + apt,
``scripts/monitoring/install-prometheus.sh``), writes each one's config and a ``run`` script
under ``$LAB_HOME/<name>/`` and starts that script, which execs the server, so the pid the
stack records is the server's own.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from ..brokers.spec import BrokerSpec, broker_error
from ..procs import http_ok

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "monitoring" / "install-prometheus.sh"
# A smaller Go heap (collected at +50 % instead of +100 %): memory matters more here than a little CPU.
GO_ENV = {"GOGC": "50"}

Say = Callable[[str], None]


def find(env: str, *names: str) -> str | None:
    """A program named by ``env`` or found on the PATH (``/usr/bin`` and ``/usr/sbin`` included)."""
    explicit = os.environ.get(env)
    if explicit:
        return explicit
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/bin:/usr/sbin:/usr/local/bin"
    return next((found for name in names if (found := shutil.which(name, path=path))), None)


def write_run_script(path: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
    """A shell script that execs ``argv`` (so the pid `lab up` records is the server's own)."""
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (env or {}).items())
    path.write_text("#!/bin/sh\n# Written by `lab up` at every start.\n" + exports + "exec " + shlex.join(argv) + "\n")
    path.chmod(0o755)


class ServerSpec(BrokerSpec):
    """A monitoring server as a lab component (``labkit.components.ServiceSpec``'s interface, like the brokers)."""

    kind = "monitor"
    binary_env = ""  # the variable that names the program, e.g. LAB_PROMETHEUS_BINARY
    binary_names: tuple[str, ...] = ()

    def binary(self, home: Path, say: Say) -> str:
        """The server's program; installed first (Debian's packages) when it is missing and we may."""
        found = find(self.binary_env, *self.binary_names)
        if found:
            return found
        say(f"{self.name}: not installed; installing Debian's prometheus and prometheus-alertmanager (first time only)")
        log = Path(home) / "logs" / "install-prometheus.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as out:
            done = subprocess.run(["bash", str(INSTALL_SCRIPT)], stdout=out, stderr=subprocess.STDOUT)
        text = log.read_text(errors="replace").strip()
        found = find(self.binary_env, *self.binary_names)
        if done.returncode != 0 or not found:
            last = text.splitlines()[-1].removeprefix("install-prometheus: ") if text else \
                f"{self.name} could not be installed; set {self.binary_env} to the program."
            raise broker_error(f"{last} (full output in {log})")
        return found

    def start_with(self, home: Path, argv: list[str]) -> None:
        """Write the ``run`` script that `lab up` starts (see :meth:`command`)."""
        write_run_script(self.folder(home).resolve() / "run", argv, env=GO_ENV)

    def command(self) -> list[str]:
        return ["/bin/sh", "-c", f'exec "${self.run_env}"']

    @property
    def run_env(self) -> str:
        return f"LAB_{self.name.upper()}_RUN"

    def environment(self, home: Path) -> dict[str, str]:
        return {self.run_env: str(self.folder(home).resolve() / "run")}

    def ready(self) -> bool:
        return http_ok(self.address + "/-/ready")
