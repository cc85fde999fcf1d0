"""The images docker-compose.yml needs, made here without any registry, and cached between runs.

- A Debian base from ``debootstrap --variant=minbase`` (cached, keyed by the release).
- Stand-ins built on it from tests/containers/standins/ (cached, keyed by the release and
  the stand-in's files): ``python`` satisfies the Dockerfile's ``FROM python:3.X-slim`` with
  Debian's own Python 3.X, so the Dockerfile is built exactly as users build it;
  ``rabbitmq`` and ``kafka`` stand in for the broker images the compose file names, made
  from Debian's rabbitmq-server and Java plus Kafka's jars (labkit/brokers/jars.py).
- The lab's own image, built every run from the repository's Dockerfile.

Cached images are tagged ``localhost/integration-lab-cache/<name>:<key>``; the names the
Dockerfile and the compose file ask for (``python:3.11-slim``, ``rabbitmq:4-management``)
are extra tags given for one run and taken back after it (:meth:`Images.release`).
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from labkit.brokers import jars
from tests.containers.podman import Podman

CACHE_REPO = "localhost/integration-lab-cache"
STANDINS = Path(__file__).resolve().parent / "standins"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
# The Debian release whose python3 is the Python a ``FROM python:X.Y-slim`` asks for.
DEBIAN_PYTHON = {"3.11": "bookworm", "3.13": "trixie"}
# Broker images in docker-compose.yml, by repository, and the stand-in that plays each.
BROKER_STANDINS = {"docker.io/library/rabbitmq": "rabbitmq", "docker.io/apache/kafka": "kafka"}


def is_cached(name: str) -> bool:
    return name.startswith(CACHE_REPO + "/")


def normalise(image: str) -> str:
    """An image reference as podman stores it: ``rabbitmq:4`` → ``docker.io/library/rabbitmq:4``."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name if '/' in name else 'library/' + name}"
    return f"{name}:{tag}"


def local_cas() -> list[Path]:
    """The build machine's own CA certificates (a TLS-inspecting proxy's, as on the lab's machines).

    The Python stand-in trusts them too, so the Dockerfile's ``pip install`` reaches PyPI from
    here; a machine without any adds none.
    """
    return sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))


def release_for(dockerfile: Path) -> str:
    """The Debian release to make every image from: the one whose python3 the Dockerfile's FROM names."""
    base, version = dockerfile_python(dockerfile)
    if version not in DEBIAN_PYTHON:
        raise RuntimeError(f"{dockerfile} starts FROM {base}; no Debian release has Python {version} "
                           f"(known: {DEBIAN_PYTHON}), so the container test cannot stand in for it.")
    return DEBIAN_PYTHON[version]


def dockerfile_python(dockerfile: Path) -> tuple[str, str]:
    """The image a Dockerfile starts ``FROM`` and the Python version it names: ``("python:3.11-slim", "3.11")``."""
    froms = re.findall(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", dockerfile.read_text(), flags=re.M | re.I)
    stages = {stage.lower() for _image, stage in froms if stage}
    bases = {image for image, _stage in froms if image.lower() not in stages}  # FROM an earlier stage is no base
    match = [re.fullmatch(r"(?:docker\.io/)?(?:library/)?python:(\d+\.\d+)(?:[.\d]*)(?:-slim(?:-\w+)?)?", b) for b in bases]
    if len(bases) != 1 or not match[0]:
        raise RuntimeError(f"{dockerfile} starts FROM {', '.join(sorted(bases)) or 'nothing'}; the container test can "
                           "stand in only for one official python:X.Y[-slim] image. Teach tests/containers/images.py the new base.")
    return bases.pop(), match[0].group(1)


def _digest(folder: Path, extra: dict[str, list[Path]], words: list[str]) -> str:
    """A key for a stand-in: every file of its folder and of ``extra`` (name, mode, bytes), and ``words``."""
    h = hashlib.sha256("\n".join(words).encode())
    files = [(str(p.relative_to(folder)), p) for p in sorted(folder.rglob("*")) if p.is_file()]
    files += [(f"{sub}/{p.name}", p) for sub, paths in sorted(extra.items()) for p in sorted(paths)]
    for name, path in files:
        h.update(f"{name}:{path.stat().st_mode & 0o111}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


class Images:
    """Build what is missing, tag what the compose file asks for, and take it back afterwards."""

    def __init__(self, podman: Podman, release: str) -> None:
        self.podman = podman
        self.release = release
        self.aliases: list[str] = []   # extra tags given to cached images for this run
        self.built: list[str] = []     # the lab's own images, removed after the run

    def exists(self, name: str) -> bool:
        return self.podman.run("image", "exists", name, check=False).returncode == 0

    # -- cached ---------------------------------------------------------------------------
    def debian(self) -> str:
        """The Debian base (debootstrap + podman import), cached by release."""
        tag = f"{CACHE_REPO}/debian:{self.release}"
        if self.exists(tag):
            return tag
        self.podman.say(f"containers: debootstrap --variant=minbase {self.release} (first time only)")
        with tempfile.TemporaryDirectory(dir=self.podman.root, prefix="debootstrap-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            log = self.podman.logs / "debootstrap.log"
            with open(log, "w") as out:
                done = subprocess.run(["debootstrap", "--variant=minbase", self.release, str(rootfs), MIRROR],
                                      stdout=out, stderr=subprocess.STDOUT, timeout=1200)
            if done.returncode != 0:
                raise RuntimeError(f"debootstrap of Debian {self.release} failed; the end of {log}:\n"
                                   + log.read_text(errors="replace")[-3000:])
            self._tidy(rootfs)
            tarball = Path(tmp) / "rootfs.tar"
            subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
            self.podman.run("import", "--change", 'CMD ["bash"]',
                            "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            str(tarball), tag, timeout=600)
        return tag

    def _tidy(self, rootfs: Path) -> None:
        """What Debian's own container images do: no package caches, no services started on install."""
        for folder in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / folder).glob("*"):
                if path.is_file():
                    path.unlink()
        for leftover in ("etc/hostname", "etc/resolv.conf"):  # the build machine's; podman supplies its own
            (rootfs / leftover).unlink(missing_ok=True)
        (rootfs / "etc/apt/sources.list").write_text(
            f"deb {MIRROR} {self.release} main\n"
            f"deb {MIRROR} {self.release}-updates main\n"
            f"deb {SECURITY_MIRROR} {self.release}-security main\n")
        policy = rootfs / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\n# No services start while packages install in an image.\nexit 101\n")
        policy.chmod(0o755)

    def standin(self, name: str, extra: dict[str, list[Path]] | None = None) -> str:
        """Stand-in ``name`` from tests/containers/standins/<name>, cached by its files.

        ``extra``: more files for its build context, by folder (Kafka's jars in ``libs/``).
        """
        base = self.debian()
        folder = STANDINS / name
        extra = extra or {}
        key = _digest(folder, extra, [self.release])
        tag = f"{CACHE_REPO}/{name}:{self.release}-{key}"
        if self.exists(tag):
            return tag
        self.podman.say(f"containers: building the {name} stand-in (first time only)")
        with tempfile.TemporaryDirectory(dir=self.podman.root, prefix=f"context-{name}-") as tmp:
            context = Path(tmp)
            shutil.copytree(folder, context, dirs_exist_ok=True)
            for sub, paths in extra.items():
                (context / sub).mkdir()
                for path in paths:
                    shutil.copy2(path, context / sub / path.name)
            self.build(context, context / "Containerfile", tag, build_args={"BASE": base}, log_name=f"build-{name}")
        for old in self.podman.lines("images", "--format", "{{.Repository}}:{{.Tag}}",
                                     "--filter", f"reference={CACHE_REPO}/{name}"):
            if old != tag:
                self.podman.run("rmi", old, check=False)  # an older key of the same stand-in
        return tag

    def kafka_jars(self) -> list[Path]:
        """The broker's jars (as `lab up` fetches them) and kafka-tools, for the healthcheck's tool."""
        libs = jars.fetch(self.podman.say)
        version = jars.KAFKA_VERSION
        tools = libs.parent / "tools"
        tool_jar = tools / f"kafka-tools-{version}.jar"
        if not tool_jar.exists():
            mvn = shutil.which("mvn")
            if not mvn:
                raise RuntimeError("Maven (mvn) is needed once to fetch kafka-tools for the Kafka stand-in: apt-get install maven.")
            done = subprocess.run([mvn, "-B", "-q", "dependency:copy", f"-Dartifact=org.apache.kafka:kafka-tools:{version}",
                                   f"-DoutputDirectory={tools}"], capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not tool_jar.exists():
                raise RuntimeError(f"mvn could not fetch kafka-tools {version} from Maven Central:\n"
                                   f"{(done.stdout + done.stderr)[-2000:]}")
        return [*sorted(libs.glob("*.jar")), tool_jar]

    def alias(self, image: str, name: str) -> None:
        """Tag cached ``image`` as ``name`` for this run."""
        self.podman.run("tag", image, name)
        self.aliases.append(name)

    # -- this run's -----------------------------------------------------------------------
    def build(self, context: Path, dockerfile: Path, tag: str, build_args: dict[str, str] | None = None,
              log_name: str = "build") -> None:
        """``podman build`` on the host network (RUN steps fetch packages), never from a registry."""
        args = ["build", "--network", "host", "--pull=never", "--layers=false", "-f", str(dockerfile), "-t", tag]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        log = self.podman.logs / f"{log_name}.log"
        try:
            self.podman.run(*args, str(context), timeout=1800, log=log)
        except RuntimeError as exc:
            raise RuntimeError(f"building {tag} from {dockerfile} failed (log: {log}):\n{str(exc)[-4000:]}") from None

    def prepare(self, services: dict, project_dir: Path) -> None:
        """Every image ``services`` (docker-compose config) names: stand-ins tagged, the lab's built."""
        builds = {}
        for name, svc in services.items():
            image = normalise(svc["image"]) if svc.get("image") else None
            if "build" in svc:
                context = Path(svc["build"].get("context", project_dir))
                builds[image or name] = (context, context / svc["build"].get("dockerfile", "Dockerfile"),
                                         svc.get("image") or name)
                continue
            repo = image.rsplit(":", 1)[0]
            standin = BROKER_STANDINS.get(repo)
            if standin is None:
                raise RuntimeError(f"service {name} runs image {svc['image']}, which has no stand-in here; "
                                   "add one to tests/containers/standins/ and BROKER_STANDINS.")
            extra = {"libs": self.kafka_jars()} if standin == "kafka" else {}
            if standin == "kafka" and not image.endswith(f":{jars.KAFKA_VERSION}"):
                raise RuntimeError(f"docker-compose.yml runs {svc['image']} but `lab up` fetches Kafka "
                                   f"{jars.KAFKA_VERSION} (labkit/brokers/jars.py): make them agree.")
            self.alias(self.standin(standin, extra), image)
        for context, dockerfile, tag in builds.values():
            base, version = dockerfile_python(dockerfile)
            if DEBIAN_PYTHON.get(version) != self.release:
                raise RuntimeError(f"{dockerfile} starts FROM {base}, but Debian {self.release} has another Python; "
                                   f"the stand-in needs the release whose python3 is {version} (DEBIAN_PYTHON).")
            self.alias(self.standin("python", {"certs": local_cas()}), normalise(base))
            self.build(context, dockerfile, tag, log_name="build-lab")
            self.built.append(tag)

    def release_all(self) -> None:
        """Take back this run's tags and images; the cache stays."""
        for name in self.aliases:
            self.podman.run("untag", name, name, check=False)
        for tag in self.built:
            self.podman.run("rmi", "--force", tag, check=False)
        self.aliases, self.built = [], []
