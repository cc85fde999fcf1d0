"""Private lab services for grading: each grading worker gets its own shop, reset before each submission.

Parallel workers never share data, and every submission starts from the seed data
(``POST /admin/reset``), so a grade does not depend on which submission ran first
or next to it. Each service runs alone in a lab host process (as `lab isolate` runs one) on a free
port, with its data in a temporary folder.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import requests

from labkit import components, config
from labkit.procs import free_port, http_ok, spawn, terminate, wait_until
from labservices.common.declaration import instance

ROOT = Path(__file__).resolve().parents[2]


# Brokers a grading service must not reach: the lab's RabbitMQ and Kafka carry the student's own lab's events,
# and a private catalog or shipping subscribed there would take them (their queues have the same names).
# Nothing listens at these addresses; the services' buses retry quietly and the services answer HTTP as usual.
ISOLATED = {"LAB_AMQP_URL": "amqp://guest:guest@127.0.0.1:9", "LAB_KAFKA_BOOTSTRAP": "127.0.0.1:9"}


class ServiceError(Exception):
    """A lab service the grader needs did not start or did not reset."""


def with_needs(names) -> list[str]:
    """``names`` and, transitively, the lab services they declare they need (brokers aside)."""
    found: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if name in found:
            continue
        found.append(name)
        spec = components.by_name(name)
        todo += [n for n in getattr(spec.declaration, "needs", ()) if n not in found and _is_service(n)]
    return found


def _is_service(name: str) -> bool:
    try:
        return components.by_name(name).kind == "service"
    except KeyError:
        return False


class PrivateService:
    """One lab service (``components.by_name(name)``) on its own port and data folder."""

    def __init__(self, name: str, extra_env: dict[str, str] | None = None, address: str = "") -> None:
        self.spec = components.by_name(name)
        self.name = name
        self.extra_env = extra_env or {}
        self.home = Path(tempfile.mkdtemp(prefix=f"lab-grade-{name}-"))
        self.address = address
        self.proc = None

    def start(self, timeout: float = 30.0) -> "PrivateService":
        self.address = self.address or f"http://127.0.0.1:{free_port()}"
        env = {**self.spec.environment(self.home), config.env_name(self.spec.name): self.address, **self.extra_env}
        log = self.home / f"{self.name}.log"
        self.proc = spawn(self.spec.command(), env=env, log_path=log, cwd=ROOT)
        if not wait_until(lambda: http_ok(self.address + "/health"), timeout=timeout, while_alive=self.proc.pid):
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            self.stop()
            raise ServiceError(f"The {self.name} service for grading did not start at {self.address}. "
                               f"Check that `lab up` works on this machine. Its log ends:\n{tail}")
        return self

    def reset(self) -> None:
        try:
            requests.post(self.address + "/admin/reset", timeout=15).raise_for_status()
        except requests.RequestException as exc:
            raise ServiceError(f"Could not reset the grading {self.name} at {self.address} ({exc}).") from exc

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc.pid)
            try:
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - already gone or killed
                pass
            self.proc = None
        shutil.rmtree(self.home, ignore_errors=True)


class ServiceSet:
    """The services one grading worker uses, started on first need.

    A service that calls others (the warehouse calls the shop and the carrier) is started with the
    services it declares it needs, and every one of them learns the others' private addresses and
    one private mail server (``LAB_SMTP_URL``), so no grading service ever reaches the lab a
    student runs on the same machine.
    """

    def __init__(self, env: dict[str, dict[str, str]] | None = None) -> None:
        self.env = env or {}
        self.running: dict[str, PrivateService] = {}
        self.smtp_url = ""

    def fresh(self, names) -> dict[str, str]:
        """Addresses of ``names``, each reset to its seed data."""
        wanted = with_needs(names)
        addresses = {n: self.running[n].address if n in self.running else f"http://127.0.0.1:{free_port()}"
                     for n in wanted}
        if "mailbox" in wanted and not self.smtp_url:
            self.smtp_url = f"smtp://127.0.0.1:{free_port()}"
        peers = {config.env_name(n): address for n, address in addresses.items()}
        shared = {**peers, **ISOLATED, "LAB_DISCOVERY_TTL_S": "6",  # heartbeats every 2 s: a loaded grader keeps its copies listed
                  **({"LAB_SMTP_URL": self.smtp_url} if self.smtp_url else {})}
        for name in wanted:
            if name not in self.running:
                env = {**shared, **self._shared_data(name), **(self.env.get(name) or {})}
                self.running[name] = PrivateService(name, env, addresses[name]).start()
            else:
                self.running[name].reset()
        if "registry" in wanted:
            self._registered(wanted)
        return {name: self.running[name].address for name in names}

    def _registered(self, wanted) -> None:
        """Wait (bounded) until every discoverable service is back in the registry after the resets.

        A reset registry forgets its instances; they register again at their next heartbeat. A notebook
        whose cells ran in between found no catalog, and its grade said "error" for a sound answer.
        """
        expected = {n for n in wanted if instance(n).service.discoverable}
        registry = self.running["registry"].address

        def back() -> bool:
            try:
                listed = requests.get(registry + "/api/services", timeout=2).json()
            except (requests.RequestException, ValueError):
                return False
            found = {i.get("instance_id") for instances in listed.values() if isinstance(instances, list)
                     for i in instances if isinstance(i, dict)} if isinstance(listed, dict) else set()
            return expected <= found
        wait_until(back, timeout=10, interval=0.1)

    def _shared_data(self, name: str) -> dict[str, str]:
        """A copy of a service (catalog-2) works on the first copy's database, as in the lab."""
        service = instance(name).service
        first = self.running.get(service.name)
        if service.name == name or first is None:
            return {}
        return {f"{service.env_prefix}DB_PATH": str(first.home / "data" / f"{service.name}.sqlite3")}

    def stop(self) -> None:
        for service in self.running.values():
            service.stop()
        self.running.clear()
