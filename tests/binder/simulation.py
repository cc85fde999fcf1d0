"""Binder on this machine, as far as it allows without Docker: build from the repository's Binder files,
launch as an unprivileged user in a 2 GB, one-CPU cgroup, run every notebook, measure.

What repo2docker would do, and what is done here instead:

- ``apt.txt``: installed with apt-get as root (repo2docker: the same, on Ubuntu); packages already
  installed are left as they are.
- ``environment.yml``: repo2docker runs ``mamba env update`` into ``/srv/conda/envs/notebook``.
  conda-forge is not reachable here, so a virtualenv of this machine's Python gets the same
  packages from PyPI (names as conda-forge's; the pip section as it is, ``-e .`` included), plus
  the Jupyter packages of repo2docker's own base environment (BASE_ENV). Versions may differ from
  conda-forge's builds; the packages are the same.
- the repository is copied into the user's home (``REPO_DIR=$HOME``, repo2docker's default):
  the working tree's files that git tracks or would add (ignored files left out).
- ``postBuild`` runs as the user, in the repository (as repo2docker's ``RUN ./postBuild``).
- ``start`` runs at launch as the user, with the server's command after it, as
  ``repo2docker-entrypoint`` does; the server is ``jupyter lab`` with JupyterHub's per-user prefix
  (``/user/<name>/``, in ``JUPYTERHUB_SERVICE_PREFIX`` too) instead of ``jupyterhub-singleuser``,
  which needs a hub. Every address gets a free port, so a lab already running here is not disturbed
  (Binder uses the defaults).
- the launch runs in a memory cgroup limited to 2 GB and a CPU cgroup limited to one CPU (CFS quota,
  as Kubernetes limits a pod), as an unprivileged user made for the purpose; the peak is the
  cgroup's own (v1 ``memory.max_usage_in_bytes``, v2 ``memory.peak``): every process of the launch,
  page cache included, as the kernel counts it against the limit. Before the launch the page cache
  of the image's files (the environment, the repository, the brokers) is dropped, so that reading
  them is charged to the launch as in a fresh pod.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = Path(os.environ.get("LAB_BINDER_BASE", "/var/tmp/integration-lab-binder"))
USER = "labbinder"
MEMORY_LIMIT = 2 * 2**30
# repo2docker's base environment (repo2docker/buildpacks/conda/environment.yml): what serves JupyterLab.
BASE_ENV = ["jupyterlab>=4,<5", "notebook>=7,<8", "jupyter_server>=2,<3", "jupyterhub>=5,<6",
            "jupyter-resource-usage>=1,<2", "ipywidgets>=8,<9"]
# Files of the image that a launch reads: their page cache is dropped before it.
IMAGE_DIRS = [Path("/usr/lib/rabbitmq"), Path("/usr/lib/erlang"), Path("/usr/lib/jvm")]

Say = Callable[[str], None]


@dataclass
class Figures:
    build_s: dict[str, float] = field(default_factory=dict)
    start_s: float | None = None  # `start` from exec to its own `exec "$@"`
    server_s: float | None = None  # launch to the Jupyter server answering
    lab_ready_s: float | None = None  # launch to `lab status --check` passing (every component healthy)
    proxy: dict[str, str] = field(default_factory=dict)  # what each check through jupyter-server-proxy saw
    notebooks: dict[str, dict] = field(default_factory=dict)  # name -> ok, seconds, peak_bytes, error
    peak_bytes: int = 0  # the cgroup's peak while the notebooks ran (page cache included)
    peak_anon_bytes: int = 0  # the highest anonymous + shared memory sampled (what cannot be reclaimed)
    idle_bytes: int = 0  # the cgroup's usage once the lab was ready, before any notebook
    oom_kills: int = 0
    start_execs: bool = False  # the process that ran `start` became the server (it ended with exec)
    cgroup: str = ""

    def report(self) -> str:
        mb = lambda b: f"{b / 2**20:.0f} MB"  # noqa: E731
        lines = ["Binder simulation (" + self.cgroup + ")",
                 "  build: " + (", ".join(f"{k} {v:.0f} s" for k, v in self.build_s.items())
                                + f" (total {sum(self.build_s.values()):.0f} s)" if self.build_s else "reused"),
                 f"  start: {self.start_s:.2f} s to exec the server; server answers after {self.server_s:.1f} s; "
                 f"every component healthy after {self.lab_ready_s:.1f} s",
                 f"  memory: {mb(self.idle_bytes)} with the lab idle; peak {mb(self.peak_bytes)} (page cache included), "
                 f"peak anonymous {mb(self.peak_anon_bytes)}, of the {mb(MEMORY_LIMIT)} limit; OOM kills: {self.oom_kills}"]
        for name, nb in self.notebooks.items():
            lines.append(f"    {name}: {'ok' if nb['ok'] else 'FAILED'} in {nb['seconds']:.0f} s, "
                         f"peak {mb(nb['peak_bytes'])}" + ("" if nb["ok"] else f"\n      {nb['error'][-600:]}"))
        lines += [f"  proxy {k}: {v}" for k, v in self.proxy.items()]
        return "\n".join(lines)


def why_not() -> str | None:
    """Why the simulation cannot run here, or None."""
    if os.geteuid() != 0:
        return "it needs root (to create the user and the cgroups, as Binder's machinery does)"
    for tool in ("setpriv", "useradd", "git"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    if Cgroup.flavour() is None:
        return "no writable cgroup memory and cpu controllers (v1 under /sys/fs/cgroup/{memory,cpu} or v2)"
    wanted = str(yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"][0]).split("=")[-1]
    if not shutil.which(f"python{wanted}"):
        return f"environment.yml wants Python {wanted}; python{wanted} is not on this machine"
    return None


# --- the cgroup ----------------------------------------------------------------------------------


class Cgroup:
    """A memory + CPU cgroup (v2 where its controllers are available, else v1)."""

    V2 = Path("/sys/fs/cgroup")
    V1 = Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/cpu")

    @classmethod
    def flavour(cls) -> str | None:
        controllers = cls.V2 / "cgroup.controllers"
        if controllers.exists() and {"memory", "cpu"} <= set(controllers.read_text().split()):
            return "v2"
        if all((p / "cgroup.procs").exists() and os.access(p, os.W_OK) for p in cls.V1):
            return "v1"
        return None

    def __init__(self, name: str) -> None:
        self.kind = self.flavour()
        if self.kind == "v2":
            self.dirs = [self.V2 / name]
        else:
            self.dirs = [p / name for p in self.V1]
        for d in self.dirs:
            d.mkdir(exist_ok=True)
        if self.kind == "v2":
            (self.dirs[0] / "memory.max").write_text(str(MEMORY_LIMIT))
            (self.dirs[0] / "memory.swap.max").write_text("0")
            (self.dirs[0] / "cpu.max").write_text("100000 100000")
        else:
            (self.dirs[0] / "memory.limit_in_bytes").write_text(str(MEMORY_LIMIT))
            (self.dirs[1] / "cpu.cfs_period_us").write_text("100000")
            (self.dirs[1] / "cpu.cfs_quota_us").write_text("100000")

    def describe(self) -> str:
        return f"cgroup {self.kind}, memory limit 2 GB, one CPU (CFS quota 100 ms per 100 ms): " + \
            ", ".join(map(str, self.dirs))

    def enter(self, argv: list[str]) -> list[str]:
        """``argv`` run inside this cgroup (the shell moves itself in, then execs)."""
        moves = "; ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs)
        return ["/bin/sh", "-c", moves + '; exec "$@"', "sh", *argv]

    def _read(self, v1: str, v2: str) -> str:
        return (self.dirs[0] / (v2 if self.kind == "v2" else v1)).read_text()

    def usage(self) -> int:
        return int(self._read("memory.usage_in_bytes", "memory.current"))

    def peak(self) -> int:
        return int(self._read("memory.max_usage_in_bytes", "memory.peak"))

    def reset_peak(self) -> None:
        (self.dirs[0] / ("memory.peak" if self.kind == "v2" else "memory.max_usage_in_bytes")).write_text("0")

    def anon(self) -> int:
        stat = dict(line.split() for line in self._read("memory.stat", "memory.stat").splitlines())
        if self.kind == "v2":
            return int(stat.get("anon", 0)) + int(stat.get("shmem", 0))
        return int(stat.get("total_rss", 0)) + int(stat.get("total_shmem", 0))

    def oom_kills(self) -> int:
        text = self._read("memory.oom_control", "memory.events")
        match = re.search(r"^oom_kill (\d+)", text, re.M)
        return int(match.group(1)) if match else 0

    def pids(self) -> list[int]:
        return [int(p) for p in (self.dirs[0] / "cgroup.procs").read_text().split()]

    def remove(self) -> None:
        """Kill what is left in it (only its own processes) and remove it."""
        import signal

        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        for d in self.dirs:
            try:
                d.rmdir()
            except OSError:
                pass


# --- the user --------------------------------------------------------------------------------------


def ensure_user(home: Path) -> tuple[int, int]:
    """The unprivileged user the launch runs as (created once, home in the simulation's folder)."""
    try:
        entry = pwd.getpwnam(USER)
        if entry.pw_dir != str(home):
            subprocess.run(["usermod", "--home", str(home), USER], check=True)
    except KeyError:
        subprocess.run(["useradd", "--home-dir", str(home), "--no-create-home", "--shell", "/bin/bash",
                        "--user-group", USER], check=True)
        entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


def as_user(argv: list[str], uid: int, gid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", *argv]


def chown_tree(path: Path, uid: int, gid: int) -> None:
    subprocess.run(["chown", "-R", f"{uid}:{gid}", str(path)], check=True)


# --- build ----------------------------------------------------------------------------------------


def apt_packages() -> list[str]:
    """apt.txt as repo2docker reads it: one package a line, # comments."""
    out = []
    for line in (ROOT / "apt.txt").read_text().splitlines():
        package = line.partition("#")[0].strip()
        if package:
            out.append(package)
    return out


def environment_requirements() -> tuple[list[str], list[str]]:
    """environment.yml's packages as PyPI requirements, and its pip section (local references apart)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str) and not re.match(r"^(python|pip)\b(?!-)", d)]
    pip = next((d["pip"] for d in env["dependencies"] if isinstance(d, dict)), [])
    return conda, pip


class Simulation:
    def __init__(self, say: Say = lambda _m: None) -> None:
        self.say = say
        self.home = BASE / "home"
        self.prefix = BASE / "srv" / "conda" / "envs" / "notebook"
        self.figures = Figures()

    # the build, as repo2docker's Dockerfile steps
    def build(self) -> None:
        BASE.mkdir(parents=True, exist_ok=True)
        os.chmod(BASE, 0o755)
        self.uid, self.gid = ensure_user(self.home)
        for old in (self.home, self.prefix):
            shutil.rmtree(old, ignore_errors=True)
        self.home.mkdir(parents=True)
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        chown_tree(BASE / "srv", self.uid, self.gid)
        (BASE / "pip-cache").mkdir(exist_ok=True)
        chown_tree(BASE / "pip-cache", self.uid, self.gid)

        t = time.monotonic()
        missing = [p for p in apt_packages()
                   if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
                   .stdout.strip() != "install ok installed"]
        if missing:
            self.say(f"apt.txt: installing {' '.join(missing)}")
            subprocess.run(["apt-get", "-qq", "update"], check=True)
            subprocess.run(["apt-get", "install", "--yes", "--no-install-recommends", *missing], check=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        self.figures.build_s["apt.txt"] = time.monotonic() - t

        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, check=True).stdout.decode().split("\0")
        for name in filter(None, files):
            src = ROOT / name
            if src.is_file():
                (self.home / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, self.home / name)
        chown_tree(self.home, self.uid, self.gid)

        t = time.monotonic()
        conda, pip = environment_requirements()
        wanted = str(yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"][0]).split("=")[-1]
        self.user_run([f"python{wanted}", "-m", "venv", str(self.prefix)], "environment.yml (venv)")
        remote = [r for r in pip if not r.startswith("-")]
        local = [r for r in pip if r.startswith("-")]
        self.user_run([str(self.prefix / "bin" / "pip"), "install", "--quiet", "--cache-dir", str(BASE / "pip-cache"),
                       *BASE_ENV, *conda, *remote], "environment.yml (packages)")
        for requirement in local:
            self.user_run([str(self.prefix / "bin" / "pip"), "install", "--quiet", "--cache-dir",
                           str(BASE / "pip-cache"), *requirement.split(None, 1)], f"environment.yml ({requirement})")
        self.figures.build_s["environment.yml"] = time.monotonic() - t

        t = time.monotonic()
        self.user_run(["./postBuild"], "postBuild")
        self.figures.build_s["postBuild"] = time.monotonic() - t

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"HOME": str(self.home), "USER": USER, "LOGNAME": USER, "SHELL": "/bin/bash", "LANG": "C.UTF-8",
                "PATH": f"{self.prefix / 'bin'}:{self.home / '.local/bin'}:/usr/local/bin:/usr/bin:/bin",
                "REPO_DIR": str(self.home), "NB_PYTHON_PREFIX": str(self.prefix), "PYTHONUNBUFFERED": "1",
                **(extra or {})}

    def user_run(self, argv: list[str], what: str, env: dict | None = None, cgroup: Cgroup | None = None,
                 timeout: float = 1800) -> subprocess.CompletedProcess:
        command = as_user(argv, self.uid, self.gid)
        if cgroup is not None:
            command = cgroup.enter(command)
        done = subprocess.run(command, cwd=self.home, env=env or self.env(), capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{what} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
        return done

    # the launch
    def addresses(self) -> dict[str, str]:
        from labkit.procs import free_port
        from labservices.common.declaration import instances

        env = {i.service.url_env if i.name == i.service.name else f"LAB_{i.name.upper().replace('-', '_')}_URL":
               f"http://127.0.0.1:{free_port()}" for i in instances()}
        return {**env, "LAB_HOST_URL": f"http://127.0.0.1:{free_port()}",
                "LAB_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}",
                "LAB_RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{free_port()}",
                "LAB_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}

    def drop_page_cache(self) -> None:
        for top in [self.prefix, self.home, *IMAGE_DIRS]:
            for folder, _, names in os.walk(top):
                for name in names:
                    try:
                        fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW)
                    except OSError:
                        continue
                    try:
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    except OSError:
                        pass
                    finally:
                        os.close(fd)

    def launch_and_run(self) -> Figures:
        from labkit.procs import free_port, http_ok, terminate, wait_until

        f = self.figures
        port, token, prefix = free_port(), secrets.token_hex(16), f"/user/{USER}/"
        env = self.env({**self.addresses(), "JUPYTERHUB_SERVICE_PREFIX": prefix})
        self.drop_page_cache()
        cgroup = Cgroup(f"integration-lab-binder-{os.getpid()}")
        f.cgroup = cgroup.describe()
        marker = self.home / ".start-done"
        server = [str(self.home / "start"), "/bin/sh", "-c", f'date +%s.%N > {marker}; exec "$@"', "sh",
                  "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.token={token}",
                  f"--ServerApp.base_url={prefix}", f"--ServerApp.root_dir={self.home}"]
        base = f"http://127.0.0.1:{port}{prefix}"
        log = BASE / "jupyter.log"
        launched = time.time()
        with open(log, "wb") as out:  # exactly this environment: nothing of the caller's leaks in
            proc = subprocess.Popen(cgroup.enter(as_user(server, self.uid, self.gid)), env=env, cwd=self.home,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            ok = wait_until(lambda: http_ok(f"{base}api/status?token={token}"), timeout=120, while_alive=proc.pid)
            if not ok:
                raise RuntimeError("the Jupyter server did not answer; its log:\n" + log.read_text()[-3000:])
            f.server_s = time.time() - launched
            f.start_s = float(marker.read_text()) - launched
            f.start_execs = "jupyter" in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
            lab = str(self.prefix / "bin" / "lab")
            ready = wait_until(lambda: subprocess.run(cgroup.enter(as_user([lab, "status", "--check"], self.uid, self.gid)),
                                                      env=env, capture_output=True).returncode == 0, timeout=600, interval=1)
            if not ready:
                status = subprocess.run(as_user([lab, "status"], self.uid, self.gid), env=env, capture_output=True, text=True)
                raise RuntimeError("the lab did not become healthy:\n" + status.stdout + status.stderr +
                                   (self.home / ".integration-lab/logs/start.log").read_text()[-2000:])
            f.lab_ready_s = time.time() - launched
            f.idle_bytes = cgroup.usage()
            f.proxy = self.check_proxy(base, token)
            self.run_notebooks(cgroup, env)
        finally:
            f.oom_kills = cgroup.oom_kills()
            subprocess.run(cgroup.enter(as_user([str(self.prefix / "bin" / "lab"), "down"], self.uid, self.gid)),
                           env=env, capture_output=True, timeout=120)
            terminate(proc.pid, timeout=15)
            cgroup.remove()
        return f

    def check_proxy(self, base: str, token: str) -> dict[str, str]:
        """Each service's /docs and the console through jupyter-server-proxy, as a Binder user's browser asks."""
        out = {}
        auth = {"Authorization": f"token {token}"}
        docs = requests.get(f"{base}shop/docs", headers=auth, timeout=10)
        wanted = f"{base.split('127.0.0.1', 1)[1].split('/', 1)[1]}"
        out["shop /docs"] = f"{docs.status_code}, loads '/{wanted}shop/openapi.json'" \
            if f"'/{wanted}shop/openapi.json'" in docs.text else f"{docs.status_code}, WRONG: {docs.text[:200]}"
        spec = requests.get(f"{base}shop/openapi.json", headers=auth, timeout=10)
        out["shop /openapi.json"] = f"{spec.status_code}, servers {spec.json().get('servers')}" if spec.ok else str(spec.status_code)
        page = requests.get(f"{base}console/", headers=auth, timeout=10)
        out["console /"] = f"{page.status_code}, {'the console page' if 'static/console.js' in page.text else 'WRONG'}"
        overview = requests.get(f"{base}console/api/overview", headers=auth, timeout=30)
        out["console /api/overview"] = (f"{overview.status_code}, " + ", ".join(
            f"{c['name']} {c['health']}" for c in overview.json()["components"][:4]) + ", ...") if overview.ok else str(overview.status_code)
        return out

    def run_notebooks(self, cgroup: Cgroup, env: dict[str, str]) -> None:
        """Every notebook, top to bottom, in a kernel inside the cgroup; the cgroup's memory sampled meanwhile."""
        progress = self.home / ".notebook-now"
        results = self.home / ".notebook-results.json"
        runner = RUNNER.format(progress=str(progress), results=str(results))
        samples: dict[str, int] = {}
        anon_peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.25):
                try:
                    now = progress.read_text().strip() if progress.exists() else ""
                    usage = cgroup.usage()
                    samples[now] = max(samples.get(now, 0), usage)
                    anon_peak[0] = max(anon_peak[0], cgroup.anon())
                except (OSError, ValueError):
                    pass

        cgroup.reset_peak()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            done = subprocess.run(cgroup.enter(as_user([str(self.prefix / "bin" / "python"), "-c", runner],
                                                       self.uid, self.gid)),
                                  cwd=self.home, env=env, capture_output=True, text=True, timeout=3600)
        finally:
            stop.set()
            sampler.join()
        self.figures.peak_bytes = cgroup.peak()
        self.figures.peak_anon_bytes = anon_peak[0]
        if not results.exists():
            raise RuntimeError("the notebook runner wrote no results:\n" + (done.stdout + done.stderr)[-3000:])
        for name, nb in json.loads(results.read_text()).items():
            self.figures.notebooks[name] = {**nb, "peak_bytes": samples.get(name, 0)}


RUNNER = """
import json, pathlib, time, nbformat
from nbclient import NotebookClient
progress, results, out = pathlib.Path({progress!r}), pathlib.Path({results!r}), {{}}
for path in sorted(pathlib.Path("notebooks").glob("*.ipynb")):
    progress.write_text(path.stem)
    nb = nbformat.read(path, as_version=4)
    started = time.monotonic()
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={{"metadata": {{"path": str(path.parent)}}}}).execute()
        out[path.stem] = {{"ok": True, "error": ""}}
    except Exception as exc:
        out[path.stem] = {{"ok": False, "error": str(exc)[-3000:]}}
    out[path.stem]["seconds"] = time.monotonic() - started
    results.write_text(json.dumps(out))
progress.write_text("")
"""


def run(say: Say = lambda _m: None, build: bool = True) -> Figures:
    """Build, launch, run every notebook; the figures (raises on a failed build or launch).

    ``build=False`` launches the last build again (a developer's shortcut; the test always builds).
    """
    sim = Simulation(say)
    if build:
        say("building from apt.txt, environment.yml and postBuild ...")
        sim.build()
        say("built: " + ", ".join(f"{k} {v:.0f} s" for k, v in sim.figures.build_s.items()))
    else:
        sim.uid, sim.gid = ensure_user(sim.home)
    say("launching `start` in the cgroup as " + USER + " and running every notebook ...")
    return sim.launch_and_run()


if __name__ == "__main__":
    reason = why_not()
    if reason:
        print(f"The Binder simulation cannot run here: {reason}.", file=sys.stderr)
        sys.exit(2)
    print(run(lambda m: print(m, file=sys.stderr, flush=True), build="--launch-only" not in sys.argv).report())
