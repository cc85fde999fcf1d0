"""RabbitMQ as a lab component: the real server, a private node under the lab's state folder.

`lab up` runs Debian's (or conda-forge's) ``rabbitmq-server`` as a node of its own:
its name, ports, Erlang cookie, database, config and plugins all live in
``$LAB_HOME/rabbitmq/``, every listener is on loopback, and its ``epmd`` runs on a
private port so that `lab down` can stop exactly that one (``epmd`` daemonises and so
outlives the node it served). The management plugin serves the HTTP API that the
notebooks and checks read queue depths from; the Prometheus plugin serves ``/metrics``
(``LAB_RABBITMQ_PROMETHEUS_URL``, default port 15692) for the lab's Prometheus.

With ``LAB_AMQP_URL`` pointing elsewhere (compose, another host) the broker is only
checked, never started.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

import requests

from .. import config
from ..procs import port_open, terminate
from .probe import amqp_ready
from .spec import BrokerSpec, broker_error

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "brokers" / "install-rabbitmq.sh"
DEBIAN_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
# The management API (queue depths for notebooks and checks) and the Prometheus plugin (what the
# lab's Prometheus scrapes: queue depths, rates and consumers as series).
PLUGINS = ["rabbitmq_management", "rabbitmq_prometheus"]
# Exchanges every vhost has from birth; `lab reset` keeps them.
BUILTIN_EXCHANGE_PREFIX = "amq."

Say = Callable[[str], None]


def server_script() -> str | None:
    """The ``rabbitmq-server`` start script to run directly (not Debian's su wrapper)."""
    explicit = os.environ.get("LAB_RABBITMQ_SERVER")
    if explicit:
        return explicit
    if DEBIAN_SERVER.exists():
        return str(DEBIAN_SERVER)
    found = shutil.which("rabbitmq-server", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/usr/local/sbin")
    if found and Path(found).resolve().name == "rabbitmq-script-wrapper":
        return str(Path(found).resolve().parent / "rabbitmq-server")
    return found


class Management:
    """A small client for RabbitMQ's management HTTP API (credentials from the AMQP URL)."""

    def __init__(self, base_url: str, user: str = "guest", password: str = "guest", timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = (user, password)
        self.timeout = timeout

    @classmethod
    def for_url(cls, amqp_url: str, management_url: str) -> "Management":
        parts = urlsplit(amqp_url)
        return cls(management_url, unquote(parts.username or "guest"), unquote(parts.password or "guest"))

    def get(self, path: str):
        resp = requests.get(f"{self.base_url}/api/{path}", auth=self.auth, timeout=self.timeout)
        resp.raise_for_status()
        return resp.json()

    def delete(self, path: str) -> None:
        resp = requests.delete(f"{self.base_url}/api/{path}", auth=self.auth, timeout=self.timeout)
        if resp.status_code != 404:  # already gone is fine
            resp.raise_for_status()

    def ok(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/api/overview", auth=self.auth, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def queue(self, name: str, vhost: str = "/") -> dict:
        return self.get(f"queues/{quote(vhost, safe='')}/{quote(name, safe='')}")

    def queues(self) -> list[dict]:
        return self.get("queues")

    def exchanges(self) -> list[dict]:
        return self.get("exchanges")


class RabbitMQSpec(BrokerSpec):
    name = "rabbitmq"
    address_env = "LAB_AMQP_URL"
    teaches = "AMQP: exchanges (default, direct, topic, fanout), queues, bindings, ack, prefetch, dead letters"
    notebooks = "06; ex06, ex08"
    readme_ports = "5672 (AMQP), 15672 (management API)"
    readme = ("RabbitMQ, the real server: producers, exchanges (default, direct, topic, fanout), queues and bindings, "
              "durable queues and persistent messages, ack, prefetch and fair dispatch, redelivery, dead letters, "
              "queue depths. Addresses: `LAB_AMQP_URL`, `LAB_RABBITMQ_MANAGEMENT_URL`, `LAB_RABBITMQ_PROMETHEUS_URL` "
              "(its Prometheus plugin, port 15692)")
    about = "справжній брокер RabbitMQ: exchange, черги, ack, dead letters"

    def __init__(self, address: str | None = None, management_url: str | None = None,
                 prometheus_url: str | None = None) -> None:
        super().__init__(address)
        self._management_url = management_url
        self._prometheus_url = prometheus_url

    @property
    def address(self) -> str:
        return self._address or config.amqp_url()

    @property
    def management_url(self) -> str:
        return (self._management_url or config.rabbitmq_management_url()).rstrip("/")

    @property
    def prometheus_url(self) -> str:
        """Where the Prometheus plugin serves ``/metrics`` (and ``/metrics/detailed``)."""
        return (self._prometheus_url or config.rabbitmq_prometheus_url()).rstrip("/")

    @property
    def management(self) -> Management:
        return Management.for_url(self.address, self.management_url)

    @property
    def management_port(self) -> int:
        return config.port_of(self.management_url)

    @property
    def prometheus_port(self) -> int:
        return config.port_of(self.prometheus_url)

    def node_name(self, home: Path) -> str:
        # One node per state folder, so its database (named after the node) survives restarts.
        digest = hashlib.sha1(str(Path(home).resolve()).encode()).hexdigest()[:8]
        return f"lab-{digest}@localhost"

    # --- start ----------------------------------------------------------------------

    def prepare(self, home: Path, say: Say) -> None:
        """Install RabbitMQ if missing (root + apt), stop a stale epmd, write the node's config."""
        if not server_script():
            self._install(home, say)
        self.cleanup(home, {}, say)  # an epmd left over from a crashed run
        for port, what, env in ((self.management_port, "the management API", "LAB_RABBITMQ_MANAGEMENT_URL"),
                                (self.prometheus_port, "the Prometheus plugin", "LAB_RABBITMQ_PROMETHEUS_URL")):
            if port_open("127.0.0.1", port):
                raise broker_error(f"rabbitmq: port {port} ({what}) is taken by another program. "
                                   f"Free the port, or set {env} to another address.")
        folder = self.folder(home)
        for sub in ("mnesia", "log"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        ports = self.choose_ports(home, ["dist", "epmd"])
        (folder / "rabbitmq.conf").write_text(
            "# Written by `lab up` at every start; edit labkit/brokers/rabbitmq.py instead.\n"
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {self.management_port}\n"
            "prometheus.tcp.ip = 127.0.0.1\n"
            f"prometheus.tcp.port = {self.prometheus_port}\n"
            "# Queue depths in the management API refresh every second (default: 5 s).\n"
            "collect_statistics_interval = 1000\n"
            "log.console = true\nlog.console.level = info\nlog.file = false\n"
        )
        (folder / "enabled_plugins").write_text(f"[{','.join(PLUGINS)}].\n")
        (folder / "rabbitmq-env.conf").write_text("# Empty on purpose: the system's rabbitmq-env.conf is not read.\n")
        say(f"rabbitmq: node {self.node_name(home)}, AMQP on {self.port}, management on {self.management_port}, "
            f"Prometheus metrics on {self.prometheus_port}, epmd on {ports['epmd']}, data in {folder}")

    def _install(self, home: Path, say: Say) -> None:
        say("rabbitmq: not installed; installing Debian's rabbitmq-server (first time only, about a minute)")
        log = Path(home) / "logs" / "install-rabbitmq.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as out:
            done = subprocess.run(["bash", str(INSTALL_SCRIPT)], stdout=out, stderr=subprocess.STDOUT)
        text = log.read_text(errors="replace").strip()
        if done.returncode != 0 or not server_script():
            raise broker_error(
                (text.splitlines()[-1].removeprefix("install-rabbitmq: ") if text else "RabbitMQ could not be installed.")
                + f" (full output in {log})")

    def command(self) -> list[str]:
        script = server_script()
        if not script:
            raise broker_error("rabbitmq-server is not installed; run scripts/brokers/install-rabbitmq.sh "
                              "(as root) or `conda install -c conda-forge rabbitmq-server`.")
        return [script]

    def environment(self, home: Path) -> dict[str, str]:
        folder = self.folder(home).resolve()
        ports = self.read_ports(home) or self.choose_ports(home, ["dist", "epmd"])
        return {
            "HOME": str(folder),  # the Erlang cookie is written here
            "RABBITMQ_NODENAME": self.node_name(home),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(ports["dist"]),
            "ERL_EPMD_PORT": str(ports["epmd"]),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_LOGS": "-",  # to standard output, which is the lab's log file
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(folder / "rabbitmq.pid"),
            # Distribution (node-to-node) traffic on loopback only, like everything else.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def ready(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        return amqp_ready(self.address) and self.management.ok()

    # --- stop -----------------------------------------------------------------------

    def cleanup(self, home: Path, record: dict, say: Say) -> None:
        """Stop the epmd that this lab's node started on its private port (it outlives the node)."""
        epmd_port = self.read_ports(home).get("epmd")
        if not epmd_port:
            return
        for pid in epmd_pids(epmd_port):
            if terminate(pid, timeout=3):
                say(f"rabbitmq: stopped its epmd (pid {pid}, port {epmd_port})")

    # --- data -----------------------------------------------------------------------

    def reset(self) -> None:
        """Delete every queue and every exchange the lab's notebooks and exercises declared."""
        api = self.management
        for queue in api.queues():
            api.delete(f"queues/{quote(queue['vhost'], safe='')}/{quote(queue['name'], safe='')}")
        for exchange in api.exchanges():
            name = exchange["name"]
            if name and not name.startswith(BUILTIN_EXCHANGE_PREFIX):
                api.delete(f"exchanges/{quote(exchange['vhost'], safe='')}/{quote(name, safe='')}")

    def describe(self) -> dict[str, str]:
        details = {"amqp_url": self.address, "management_url": self.management_url,
                   "prometheus_url": self.prometheus_url}
        try:
            overview = self.management.get("overview")
        except (requests.RequestException, ValueError):
            return details
        details["implementation"] = f"RabbitMQ {overview.get('rabbitmq_version', '?')}"
        return details


def epmd_pids(port: int) -> list[int]:
    """Running epmd processes serving ``port`` (found by the ERL_EPMD_PORT they were started with)."""
    wanted = f"ERL_EPMD_PORT={port}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "epmd":
                continue
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if stat[0] == "Z":
            continue
        if wanted in environ or (b"-port" in cmdline and str(port).encode() in cmdline):
            pids.append(int(entry.name))
    return pids
