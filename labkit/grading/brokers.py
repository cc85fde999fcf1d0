"""The lab's brokers as ``lab grade`` uses them: shared by every worker, fenced off per submission.

The grader does not start brokers of its own (RabbitMQ and Kafka take about 150 MB
and 10 s each): it uses the ones the lab runs (``lab up``), found where a student's
kernel finds them (``LAB_AMQP_URL``, ``LAB_RABBITMQ_MANAGEMENT_URL``,
``LAB_KAFKA_BOOTSTRAP``). Each notebook that needs a broker takes a :class:`Lease`
for as long as its sandbox runs:

- **RabbitMQ**: a virtual host and a user of its own (``lab-grade-<pid>-<random>``,
  tag ``management``, rights on that virtual host only, a few connections and queues,
  queues capped in bytes), deleted afterwards with everything in it. The sandbox's
  ``LAB_AMQP_URL`` names them, so its code, its fixed queue names included, sees an
  empty broker of its own, and the checks declare and watch their queues there too.
  Guards in the grader keep the sandbox's connections to that virtual host and its
  management API requests to that user (:mod:`~labkit.grading.guards`).
- **Kafka** has no virtual hosts, so each lease is a namespace: a prefix of its own
  (``lab-grade-<owner>-<random>-``) that the proxy in the grader adds to every topic
  name, group id and transactional id the sandbox sends and takes off what comes back
  (:mod:`~labkit.grading.kafka_namespace`). The notebooks' fixed names (``ex09-orders``,
  ``ex09-analytics``) then never meet another submission's, so Kafka notebooks run in
  parallel; the checks use the prefix themselves (``ctx.services["kafka-namespace"]``).
  Everything under the prefix is deleted when the lease ends. Only client APIs pass.

The sandbox reaches a broker where its address says (and, for Kafka, where the broker
advertises itself), through the bridge; nothing else. A broker that does not answer is
:class:`BrokerUnavailable`: one sentence, and the notebook is not run.
"""
from __future__ import annotations

import base64
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

import requests

from labkit import config

from .cgroup import owner, owner_gone
from .guards import AmqpGuard, HttpAuthGuard
from .kafka_namespace import Budget, KafkaNamespace
from .endpoints import Endpoint

log = logging.getLogger("labkit.grading")

RABBITMQ, KAFKA = "rabbitmq", "kafka"
PREFIX = "lab-grade-"
# What one submission may hold on the shared RabbitMQ: enough for every exercise, too little to hurt the others.
VHOST_LIMITS = {"max-connections": 32, "max-queues": 64}
QUEUE_MAX_BYTES = 4 * 2**20


class BrokerUnavailable(Exception):
    """A broker the grader needs does not answer; ``str()`` is the sentence for the instructor, ``uk`` the student's."""

    def __init__(self, message: str, uk: str) -> None:
        super().__init__(message)
        self.uk = uk


@dataclass
class Lease:
    """What one sandbox gets of the brokers: its environment, its endpoints, and the checks' addresses."""

    env: dict[str, str] = field(default_factory=dict)  # for the sandbox: LAB_AMQP_URL, ...
    endpoints: list[Endpoint] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)  # for the checks: "amqp", "rabbitmq-management", "kafka"
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def release(self) -> None:
        """Give everything back, last taken first; never raises."""
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:  # noqa: BLE001 - cleaning up must not cost a grade
                log.warning("releasing a broker lease failed", exc_info=True)


def host_port(address: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(address if "//" in address else f"//{address}")
    return (parts.hostname or config.HOST), (parts.port or default_port)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class BrokerSet:
    """The lab's RabbitMQ and Kafka for one batch; every worker takes its leases here."""

    def __init__(self, amqp_url: str | None = None, management_url: str | None = None,
                 kafka_bootstrap: str | None = None) -> None:
        self.amqp_url = amqp_url or config.amqp_url()
        self.management_url = (management_url or config.rabbitmq_management_url()).rstrip("/")
        self.kafka_bootstrap = kafka_bootstrap or config.kafka_bootstrap()
        parts = urlsplit(self.amqp_url)
        self._admin = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
        self._swept = False
        self._kafka_swept = False
        self._lock = threading.Lock()

    def lease(self, names) -> Lease:
        """A lease on each broker in ``names`` (``"rabbitmq"``, ``"kafka"``); Kafka waits for its turn."""
        lease = Lease()
        try:
            for name in sorted(set(names)):
                if name == RABBITMQ:
                    self._rabbitmq(lease)
                elif name == KAFKA:
                    self._kafka(lease)
                else:
                    raise BrokerUnavailable(f"There is no broker called {name!r} (known: kafka, rabbitmq).",
                                            f"Брокера {name!r} немає.")
        except BaseException:
            lease.release()
            raise
        return lease

    # --- RabbitMQ: a virtual host and a user per lease ------------------------------------------

    def _api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.management_url}/api/{path}", auth=self._admin, timeout=10, **kwargs)

    def _rabbitmq_down(self, why: str = "") -> BrokerUnavailable:
        host, port = host_port(self.amqp_url, 5672)
        return BrokerUnavailable(
            f"RabbitMQ is not running at {host}:{port}{why}: start it with `lab up` (or set LAB_AMQP_URL) and grade again.",
            f"Не перевірено: RabbitMQ для перевірки не відповідав ({host}:{port}).")

    def _rabbitmq(self, lease: Lease) -> None:
        from labkit.brokers.probe import amqp_ready

        host, port = host_port(self.amqp_url, 5672)
        mhost, mport = host_port(self.management_url, 80)
        if not amqp_ready(self.amqp_url):
            raise self._rabbitmq_down()
        try:
            answer = self._api("GET", "overview")
        except requests.RequestException:
            raise self._rabbitmq_down(f" (its management API does not answer at {self.management_url})") from None
        if answer.status_code != 200:
            raise BrokerUnavailable(
                f"RabbitMQ's management API at {self.management_url} refused the grader (HTTP {answer.status_code}): "
                "LAB_AMQP_URL must name an administrator (the lab's guest is one).",
                f"Не перевірено: RabbitMQ для перевірки відмовив ({host}:{port}).")
        self._sweep()
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(18)
        vhost = quote(name, safe="")

        def made(resp: requests.Response, what: str) -> None:
            if resp.status_code not in (200, 201, 204):
                raise BrokerUnavailable(
                    f"RabbitMQ did not let the grader create {what} (HTTP {resp.status_code}: {resp.text[:200]}).",
                    f"Не перевірено: RabbitMQ для перевірки відмовив ({host}:{port}).")

        try:
            made(self._api("PUT", f"vhosts/{vhost}",
                           json={"description": f"lab grade on {socket.gethostname()}, pid {os.getpid()}"}),
                 f"the virtual host {name}")
            lease._undo.append(lambda: self._api("DELETE", f"vhosts/{vhost}"))
            made(self._api("PUT", f"users/{vhost}", json={"password": password, "tags": "management"}),
                 f"the user {name}")
            lease._undo.append(lambda: self._api("DELETE", f"users/{vhost}"))
            made(self._api("PUT", f"permissions/{vhost}/{vhost}",
                           json={"configure": ".*", "write": ".*", "read": ".*"}), "permissions")
            # The management API gives whoever creates a virtual host rights on it: this one is the submission's.
            self._api("DELETE", f"permissions/{vhost}/{quote(self._admin[0], safe='')}")
            for limit, value in VHOST_LIMITS.items():
                made(self._api("PUT", f"vhost-limits/{vhost}/{limit}", json={"value": value}), f"the limit {limit}")
            made(self._api("PUT", f"operator-policies/{vhost}/lab-grade-limits",
                           json={"pattern": ".*", "apply-to": "queues", "priority": 0,
                                 "definition": {"max-length-bytes": QUEUE_MAX_BYTES}}), "the queue limits")
        except requests.RequestException as exc:
            raise self._rabbitmq_down(f" ({type(exc).__name__} from its management API)") from None
        url = f"amqp://{quote(name, safe='')}:{quote(password, safe='')}@{_url_host(host)}:{port}/{vhost}"
        lease.env.update(LAB_AMQP_URL=url, LAB_RABBITMQ_MANAGEMENT_URL=self.management_url)
        lease.services.update({"amqp": url, "rabbitmq-management": self.management_url})
        credentials = "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()
        lease.endpoints += [
            Endpoint("rabbitmq", host, port, (host, port), guard=lambda: AmqpGuard(name)),
            Endpoint("rabbitmq-management", mhost, mport, (mhost, mport), guard=lambda: HttpAuthGuard(credentials)),
        ]

    def _sweep(self) -> None:
        """Once per batch: delete what an earlier grader on this machine left behind when it was killed."""
        with self._lock:
            if self._swept:
                return
            self._swept = True
        try:
            here = f"lab grade on {socket.gethostname()}, pid "
            for vhost in self._api("GET", "vhosts").json():
                name, note = vhost.get("name", ""), vhost.get("description") or ""
                pid = note.removeprefix(here)
                if name.startswith(PREFIX) and note.startswith(here) and pid.isdigit() and not _alive(int(pid)):
                    self._api("DELETE", f"vhosts/{quote(name, safe='')}")
                    self._api("DELETE", f"users/{quote(name, safe='')}")
        except (requests.RequestException, ValueError, AttributeError):
            pass

    # --- Kafka: a namespace per lease ----------------------------------------------------------

    def _kafka(self, lease: Lease) -> None:
        from labkit.brokers.probe import kafka_metadata

        entries = [e.strip() for e in self.kafka_bootstrap.split(",") if e.strip()]
        addresses = [host_port(e, 9092) for e in entries]
        cluster = next((c for c in (kafka_metadata(h, p, timeout=3) for h, p in addresses) if c and c.brokers), None)
        if cluster is None:
            raise BrokerUnavailable(
                f"Kafka is not running at {self.kafka_bootstrap}: start it with `lab up` "
                "(or set LAB_KAFKA_BOOTSTRAP) and grade again.",
                f"Не перевірено: Kafka для перевірки не відповідала ({self.kafka_bootstrap}).")
        self._kafka_sweep()
        prefix = f"{PREFIX}{owner()}-{secrets.token_hex(4)}-"
        budget, topic_ids = Budget(), set()
        lease._undo.append(lambda: self._kafka_forget(prefix))
        lease.env["LAB_KAFKA_BOOTSTRAP"] = self.kafka_bootstrap
        lease.services.update({"kafka": self.kafka_bootstrap, "kafka-namespace": prefix})
        # Clients connect to the bootstrap address, then to each broker where it advertises itself.
        seen: list[tuple[str, int]] = []
        for host, port in [*addresses, *((h, p) for _, h, p in cluster.brokers)]:
            if (host, port) not in seen:
                seen.append((host, port))
                lease.endpoints.append(Endpoint(f"kafka-{len(seen)}", host, port, (host, port),
                                                guard=lambda: KafkaNamespace(prefix, budget, topic_ids)))

    def _kafka_admin(self):
        from kafka import KafkaAdminClient

        return KafkaAdminClient(bootstrap_servers=self.kafka_bootstrap, client_id="lab-grade", request_timeout_ms=10000)

    def _kafka_forget(self, *prefixes: str, owners=None) -> None:
        """Delete the topics and groups under ``prefixes`` (or of the dead ``owners``); best effort, as `lab reset`."""
        try:
            admin = self._kafka_admin()
        except Exception:  # noqa: BLE001 - kafka-python raises several kinds; nothing to delete then
            return
        try:
            def ours(name: str) -> bool:
                return name.startswith(prefixes) if prefixes else owners(name)

            topics = sorted(t for t in admin.list_topics() if ours(t))
            groups = sorted(g for g in (g[0] if isinstance(g, tuple) else g.get("group_id")
                                        for g in admin.list_groups()) if g and ours(g))
            for delete, names in ((admin.delete_topics, topics), (admin.delete_groups, groups)):
                if names:
                    try:
                        delete(names)
                    except Exception:  # noqa: BLE001 - e.g. a group still leaving; Tansu without DeleteGroups
                        log.info("could not delete Kafka %s after a submission", names, exc_info=True)
            deadline = time.monotonic() + 10  # Kafka deletes topics in the background: wait until they are gone
            while topics and time.monotonic() < deadline and set(topics) & set(admin.list_topics()):
                time.sleep(0.2)
        except Exception:  # noqa: BLE001
            log.info("could not list Kafka's topics to clean up", exc_info=True)
        finally:
            admin.close()

    def _kafka_sweep(self) -> None:
        """Once per batch: delete the namespaces an earlier grader on this machine left when it was killed."""
        with self._lock:
            if self._kafka_swept:
                return
            self._kafka_swept = True

        def dead(name: str) -> bool:
            parts = name[len(PREFIX):].split("-") if name.startswith(PREFIX) else []
            return len(parts) > 3 and owner_gone(f"{parts[0]}-{parts[1]}")

        self._kafka_forget(owners=dead)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
