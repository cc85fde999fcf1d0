"""Apache Kafka's jars: from a release folder (``KAFKA_HOME``) or fetched once from Maven Central.

Kafka's broker is ``org.apache.kafka:kafka_2.13`` plus its dependencies, at a pinned
version. ``fetch()`` asks ``mvn`` for exactly that (and a log4j binding, so the broker's
log says why it stopped) and copies the jars into a cache shared by every state folder::

    ~/.cache/integration-lab/kafka-4.4.0/libs/*.jar

which is laid out like a Kafka release's ``libs/``, so both are run the same way.

    scripts/brokers/fetch-kafka.sh       # fetch now, with progress; prints the libs folder
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Callable

KAFKA_VERSION = "4.4.0"
SCALA_VERSION = "2.13"
# The slf4j 1.x binding for log4j 2, at the log4j version Kafka itself depends on.
LOG4J_VERSION = "2.25.5"

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Written by labkit.brokers.jars: the Kafka broker's runtime classpath, nothing else. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>integration-lab</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

Say = Callable[[str], None]


class FetchError(RuntimeError):
    """The jars could not be had; the message says why and what to do."""


def cache_root() -> Path:
    base = os.environ.get("LAB_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "integration-lab"
    return Path(base)


def cached_libs(version: str = KAFKA_VERSION) -> Path:
    return cache_root() / f"kafka-{version}" / "libs"


def _complete(libs: Path) -> bool:
    return (libs.parent / "COMPLETE").exists() and any(libs.glob("kafka_*.jar"))


def release_libs() -> Path | None:
    """``$KAFKA_HOME/libs`` when ``KAFKA_HOME`` names a Kafka release folder."""
    home = os.environ.get("KAFKA_HOME")
    if not home:
        return None
    libs = Path(home) / "libs"
    return libs if any(libs.glob("kafka_*.jar")) else None


def libs_version(libs: Path) -> str:
    """The Kafka version of a ``libs`` folder, read from its ``kafka_<scala>-<version>.jar``."""
    for jar in libs.glob("kafka_*.jar"):
        match = re.fullmatch(r"kafka_[\d.]+-(.+?)\.jar", jar.name)
        if match and not match.group(1).endswith(("-test", "-sources", "-javadoc")):
            return match.group(1)
    return "?"


def available() -> Path | None:
    """Kafka jars already on this machine: a release folder first, then the cache."""
    libs = release_libs()
    if libs:
        return libs
    libs = cached_libs()
    return libs if _complete(libs) else None


def fetch(say: Say = lambda _m: None, version: str = KAFKA_VERSION) -> Path:
    """Make sure the broker's jars are cached; fetch them with ``mvn`` the first time."""
    libs = cached_libs(version)
    if _complete(libs):
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        raise FetchError("Kafka's jars are not cached and Maven (mvn) is not installed: install Maven "
                         "(Debian: apt-get install maven), or set KAFKA_HOME to an unpacked Kafka release.")
    folder = libs.parent
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second `lab up` or test session waits for the first fetch
        if _complete(libs):
            return libs
        (folder / "pom.xml").write_text(POM.format(kafka=version, scala=SCALA_VERSION, log4j=LOG4J_VERSION))
        shutil.rmtree(libs, ignore_errors=True)
        say(f"kafka: fetching Apache Kafka {version} jars from Maven Central with mvn (first time only, ~60 MB)")
        started = time.monotonic()
        tail = _run_mvn(mvn, folder, libs, say)
        if tail is not None:
            raise FetchError(f"mvn could not fetch Kafka {version}'s jars (log: {folder / 'mvn.log'}). "
                             f"Its last lines:\n{tail}\nCheck the network and Maven's settings, then try again.")
        (folder / "COMPLETE").write_text(f"fetched in {time.monotonic() - started:.0f} s\n")
        jars = len(list(libs.glob("*.jar")))
        say(f"kafka: {jars} jars cached in {libs} ({time.monotonic() - started:.0f} s)")
    return libs


def _run_mvn(mvn: str, folder: Path, libs: Path, say: Say) -> str | None:
    """Run the copy; None on success, else the log's last lines."""
    argv = [mvn, "-B", "-f", str(folder / "pom.xml"), "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}", "-DincludeScope=runtime"]
    last = deque(maxlen=15)
    downloads = 0
    with open(folder / "mvn.log", "w") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=folder)
        for line in proc.stdout:
            log.write(line)
            last.append(line.rstrip())
            if line.startswith("Downloaded from"):
                downloads += 1
                if downloads % 25 == 0:
                    say(f"kafka: ... {downloads} files downloaded")
        code = proc.wait()
    return None if code == 0 and any(libs.glob("kafka_*.jar")) else "\n".join(last)


def main() -> int:
    try:
        libs = fetch(lambda msg: print(msg, file=sys.stderr, flush=True))
    except FetchError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(libs)
    return 0
