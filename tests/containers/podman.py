"""A private podman for the container tests: its own store, settings and network namespace.

There is no Docker engine on the lab's machines and no image registry, but Debian's podman
runs the compose file when it is told what the machine lacks:

- ``runc`` instead of ``crun`` (which refuses these hybrid cgroups), the ``cgroupfs``
  cgroup manager (no systemd), and no ulimits raised (not permitted here), all in a
  ``containers.conf`` given by ``CONTAINERS_CONF``;
- its own store under the lab's cache (``~/.cache/integration-lab/containers``, or under
  ``$LAB_CACHE``), so the machine's podman and its images are never touched, and the
  images cached between runs sit there;
- a network namespace of its own (``ip netns add``) with only a loopback interface: every
  container joins it (podman's ``--network ns:PATH``, a private "host network"), so every
  byte between them goes over 127.0.0.1, and no bridge, no private-range address and no
  port of the machine is involved.

Builds run on the host network instead, because their ``RUN`` steps fetch Debian packages
and wheels; nothing there listens.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from labkit.brokers.jars import cache_root

Say = Callable[[str], None]

NETNS_PREFIX = "integration-lab-"
TOOLS = {  # command: the Debian package that has it
    "podman": "podman", "runc": "runc", "debootstrap": "debootstrap",
    "docker-compose": "docker-compose", "ip": "iproute2",
}


def unavailable() -> str | None:
    """Why the container tests cannot run here (a sentence), or None when they can."""
    if os.name != "posix" or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the container tests run rootful podman and need root"
    missing = sorted({pkg for cmd, pkg in TOOLS.items() if not shutil.which(cmd)})
    if missing:
        return (f"podman and its helpers are not installed (missing Debian packages: {', '.join(missing)}); "
                "`scripts/system-deps.sh test` installs them when run as root with apt-get")
    return None


def cache_dir() -> Path:
    """Where the private store, its settings and the last run's logs live."""
    return cache_root() / "containers"


CONTAINERS_CONF = """\
# Written by tests/containers/podman.py: how podman runs on the lab's machines.
[containers]
# Raising ulimits is not permitted here; containers keep podman's own.
default_ulimits = []

[engine]
# crun refuses this machine's hybrid cgroups; runc runs them.
runtime = "runc"
# No systemd here.
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{runroot}/libpod"

[network]
# Only host networking is used; nothing is written to /etc/cni.
network_config_dir = "{root}/cni"
"""

STORAGE_CONF = """\
# Written by tests/containers/podman.py: a store of its own, apart from the machine's podman.
[storage]
driver = "overlay"
graphroot = "{root}/storage"
runroot = "{runroot}/storage"
"""


class Podman:
    """Run podman (and docker-compose through podman's API) against the private store."""

    def __init__(self, root: Path | None = None, say: Say = lambda _m: None) -> None:
        self.root = (root or cache_dir()).resolve()
        store = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]  # two stores never share these
        self.runroot = Path(f"/run/integration-lab-containers-{store}")
        self.netns_prefix = f"{NETNS_PREFIX}{store}-"
        self.netns = f"{self.netns_prefix}{os.getpid()}"
        self.logs = self.root / "last-run"
        self.say = say
        self._service: subprocess.Popen | None = None
        self._service_log = None

    # -- settings -------------------------------------------------------------------------
    def configure(self) -> None:
        """Write the settings files and the folders they name."""
        for folder in (self.root, self.root / "cni", self.runroot, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        values = {"root": self.root, "runroot": self.runroot}
        (self.root / "containers.conf").write_text(CONTAINERS_CONF.format(**values))
        (self.root / "storage.conf").write_text(STORAGE_CONF.format(**values))

    @property
    def socket(self) -> Path:
        return self.runroot / "api.sock"

    def env(self) -> dict[str, str]:
        return {**os.environ,
                "CONTAINERS_CONF": str(self.root / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
                "DOCKER_HOST": f"unix://{self.socket}"}

    @contextmanager
    def locked(self) -> Iterator["Podman"]:
        """One run at a time uses the store (a second test session waits)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield self

    # -- running commands -----------------------------------------------------------------
    def run(self, *args: str, check: bool = True, timeout: float = 120,
            log: Path | None = None) -> subprocess.CompletedProcess:
        """``podman ARGS``; output captured (or written to ``log``), an error when it fails and ``check``."""
        argv = ["podman", *args]
        if log is None:
            proc = subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=timeout)
        else:
            with open(log, "w") as out:
                proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=self.env(),
                                      timeout=timeout)
            proc.stdout = log.read_text(errors="replace")
        if check and proc.returncode != 0:
            what = proc.stdout + (proc.stderr or "")
            raise RuntimeError(f"`podman {' '.join(args)}` failed ({proc.returncode}):\n{what[-4000:]}")
        return proc

    def lines(self, *args: str) -> list[str]:
        return [line for line in self.run(*args).stdout.splitlines() if line.strip()]

    # -- the network namespace and the API service -------------------------------------------
    @property
    def network_mode(self) -> str:
        """What a compose service's ``network_mode`` is to join the lab's network namespace."""
        return f"ns:/run/netns/{self.netns}"

    def open_netns(self) -> None:
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)

    def close_netns(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)

    def interfaces(self) -> list[str]:
        """The network interfaces the containers see."""
        out = subprocess.run(["ip", "-n", self.netns, "-o", "link", "show"], capture_output=True, text=True, check=True)
        return [line.split(":")[1].strip() for line in out.stdout.splitlines()]

    def start_service(self) -> None:
        """Podman's Docker-compatible API on a unix socket, for docker-compose."""
        self.socket.unlink(missing_ok=True)
        self._service_log = open(self.logs / "podman-service.log", "w")
        self._service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
            stdout=self._service_log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True)
        (self.runroot / "api.pid").write_text(str(self._service.pid))
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self._service.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("podman's API service did not start; its log: "
                                   + (self.logs / "podman-service.log").read_text()[-2000:])
            time.sleep(0.1)

    def stop_service(self) -> None:
        if self._service is not None and self._service.poll() is None:
            os.killpg(self._service.pid, signal.SIGTERM)  # its own session: podman and what it started
            try:
                self._service.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._service.pid, signal.SIGKILL)
                self._service.wait()
        self._service = None
        if self._service_log is not None:
            self._service_log.close()
            self._service_log = None
        self.socket.unlink(missing_ok=True)
        (self.runroot / "api.pid").unlink(missing_ok=True)

    # -- what a run leaves -----------------------------------------------------------------
    def leftovers(self, keep: Callable[[str], bool]) -> dict[str, list[str]]:
        """Containers, volumes, networks besides podman's default, and images ``keep`` does not claim."""
        images = [name for name in self.lines("images", "--format", "{{.Repository}}:{{.Tag}}")]
        return {
            "containers": self.lines("ps", "-a", "--format", "{{.Names}}"),
            "volumes": self.lines("volume", "ls", "--format", "{{.Name}}"),
            "networks": [n for n in self.lines("network", "ls", "--format", "{{.Name}}") if n != "podman"],
            "images": [name for name in images if not keep(name)],
            "network namespaces": sorted(p.name for p in Path("/run/netns").glob(f"{self.netns_prefix}*")),
        }

    def _stop_stale_service(self) -> None:
        """The API service of an interrupted run, if it still runs (its pid file says which)."""
        try:
            pid = int((self.runroot / "api.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if cmdline[:3] == [b"podman", b"system", b"service"]:
            os.kill(pid, signal.SIGTERM)
        (self.runroot / "api.pid").unlink(missing_ok=True)

    def clear_stale(self, keep: Callable[[str], bool]) -> None:
        """Remove what an interrupted run left in the private store (the lock is ours, so none is in use)."""
        self._stop_stale_service()
        for netns in Path("/run/netns").glob(f"{self.netns_prefix}*"):
            subprocess.run(["ip", "netns", "delete", netns.name], capture_output=True)
        self.run("rm", "--all", "--force", "--time", "0", check=False)
        self.run("volume", "rm", "--all", "--force", check=False)
        for image in self.lines("images", "--format", "{{.Repository}}:{{.Tag}}"):
            if not keep(image):
                self.run("rmi", "--force", image, check=False)
        self.run("image", "prune", "--force", check=False)
