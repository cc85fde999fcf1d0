"""Measure the service host: memory (PSS), start-up, stop/start latency, and throughput against a bare app.

    python bench/bench_host.py [--runs 3] [--seconds 10] [--json]

1. **Memory and start-up.** `lab up` (services only, fresh state folder) of: today's services;
   ten toy services of the same shape (FastAPI, SQLite, a worker; tests/toyservice); and today's
   services plus twelve toys, about the fifteen HTTP services the finished course will have.
   Time from `lab up` to every service healthy, and the host's PSS (Binder counts shared pages
   once, as PSS does) next to its RSS.
2. **Stop/start.** Per service: from the control call to its port refusing connections, and
   from the start call to ``/health`` answering.
3. **Throughput.** ``GET /api/products/1`` on the shop in the host next to a bare FastAPI app
   (one route, the same SQLite lookup, its own uvicorn process) in the same run, with `wrk`
   (Debian's package) on one connection per core; with tracing on and off.

Budgets from the platform issue: all HTTP services within 150 MB PSS and healthy within 3 s; a
stopped service refuses connections within 1 s; the shop at 0.7x or more of the bare app.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from labkit import components, config  # noqa: E402
from labkit.procs import free_port, http_ok, spawn, terminate, wait_until  # noqa: E402
from labkit.stack import Stack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUDGET_PSS_MB = 150.0
BUDGET_STARTUP_S = 3.0
BUDGET_REFUSE_S = 1.0
BUDGET_RATIO = 0.7

# The route both apps serve: one SQLite lookup (DB, the shop's database, is set in front of the text).
LOOKUP = '''
import sqlite3, threading
from fastapi import APIRouter, HTTPException
conn = None  # opened on the first request: the declaration is imported before the database exists
lock = threading.Lock()
router = APIRouter()

@router.get("/api/products/{product_id}")
def get_product(product_id: int):
    global conn
    with lock:
        if conn is None:
            conn = sqlite3.connect(DB, check_same_thread=False)
            conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise HTTPException(404)
    return dict(row)
'''
# A bare FastAPI app with that route, and the same route as a lab service (one declaration).
BARE_APP = LOOKUP + '''
from fastapi import FastAPI
app = FastAPI()
app.include_router(router)
'''
LOOKUP_SERVICE = LOOKUP + '''
from labservices.common import create_app
from labservices.common.declaration import Service

SERVICE = Service(name="lookup", port=9099, title="Lookup", teaches="bench", package="benchlookup",
                  factory="benchlookup:build_app")


def build_app(instance=None):
    return create_app(instance or SERVICE.name, title="Lookup", routers=[router])
'''


def toy_packages(folder: Path, count: int) -> str:
    """``count`` toy services (each a package with one declaration) under ``folder``; their package names."""
    names = []
    for i in range(count):
        package = folder / "benchtoys" / f"toy{i}"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(textwrap.dedent(f'''
            from labservices.common.declaration import Service
            SERVICE = Service(name="toy{i}", port={9100 + i}, title="Toy {i}", teaches="bench",
                              package="benchtoys.toy{i}", factory="tests.toyservice.main:build_app")
        '''))
        names.append(f"benchtoys.toy{i}")
    (folder / "benchtoys" / "__init__.py").write_text("")
    return ",".join(names)


def stack_for(home: Path, names: set[str] | None) -> Stack:
    specs = [c for c in components.components() if c.kind == "service" and (names is None or c.name in names)]
    return Stack(home=home, components=[components.HostSpec(specs), *specs])


def with_free_ports() -> None:
    for comp in components.components():
        if comp.kind == "service":
            os.environ[config.env_name(comp.name)] = f"http://127.0.0.1:{free_port()}"
    os.environ["LAB_HOST_URL"] = f"http://127.0.0.1:{free_port()}"


def measure_set(label: str, names: set[str] | None, runs: int, tmp: Path) -> dict:
    times, pss, rss, count = [], [], [], 0
    for run in range(runs):
        with_free_ports()
        stack = stack_for(tmp / f"{label}-{run}", names)
        started = time.perf_counter()
        try:
            statuses = stack.up(timeout=60)
            times.append(time.perf_counter() - started)
            time.sleep(1.0)  # let start-up allocations settle
            host = next(s for s in stack.status() if s.kind == "host")
            pss.append(host.pss_mb)
            rss.append(host.rss_mb)
            count = sum(1 for s in statuses if s.kind == "service")
        finally:
            stack.down()
    result = {"services": count, "startup_s_median": round(statistics.median(times), 2),
              "startup_s_max": round(max(times), 2), "pss_mb": round(statistics.median(pss), 1),
              "rss_mb": round(statistics.median(rss), 1)}
    print(f"{label:<28} {count:2d} services: healthy in {result['startup_s_median']:.2f} s (worst "
          f"{result['startup_s_max']:.2f}), PSS {result['pss_mb']:.0f} MB, RSS {result['rss_mb']:.0f} MB",
          file=sys.stderr)
    return result


def refused(url: str) -> bool:
    parts = url.rsplit(":", 1)
    try:
        with socket.create_connection((parts[0].split("//")[1], int(parts[1])), timeout=0.2):
            return False
    except OSError:
        return True


def stop_start(tmp: Path, rounds: int = 5) -> dict:
    with_free_ports()
    stack = stack_for(tmp / "stopstart", None)
    stack.up(timeout=60)
    host = os.environ["LAB_HOST_URL"]
    out = {}
    try:
        for comp in (c for c in stack.components if c.kind == "service"):
            stops, starts = [], []
            for _ in range(rounds):
                began = time.perf_counter()
                requests.post(f"{host}/services/{comp.name}/stop", timeout=30).raise_for_status()
                wait_until(lambda: refused(comp.address), timeout=5, interval=0.005)
                stops.append(time.perf_counter() - began)
                began = time.perf_counter()
                requests.post(f"{host}/services/{comp.name}/start", timeout=30).raise_for_status()
                wait_until(lambda: http_ok(comp.address + "/health"), timeout=10, interval=0.005)
                starts.append(time.perf_counter() - began)
            out[comp.name] = {"stop_to_refused_s": round(statistics.median(stops), 3),
                              "start_to_healthy_s": round(statistics.median(starts), 3)}
            print(f"  {comp.name:<10} stop → refused {out[comp.name]['stop_to_refused_s'] * 1000:.0f} ms, "
                  f"start → healthy {out[comp.name]['start_to_healthy_s'] * 1000:.0f} ms", file=sys.stderr)
    finally:
        stack.down()
    return out


def wrk(url: str, seconds: int) -> float:
    out = subprocess.run(["wrk", "-t1", f"-c{os.cpu_count() or 2}", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def throughput(tmp: Path, seconds: int, tracing: bool) -> dict:
    """The shop's GET, and the same lookup as a lab service (``lookup``), each in the host, next to a bare app.

    The shop's route does what the lecture teaches on top of the lookup (the version from the
    path, ``?version`` or ``Accept``; optional credentials and their rate limit; an ETag and
    ``If-None-Match``; three mounts, /api, /api/v1 and /api/v2). ``lookup`` is the bare app's
    route served by the platform: the host, every shared middleware, logs, metrics and tracing.
    """
    os.environ["LAB_TRACING"] = "1" if tracing else "0"
    with_free_ports()
    home = tmp / f"rps-{tracing}"
    db = home / "data" / "shop.sqlite3"
    bare_dir = tmp / f"bare-{tracing}"
    bare_dir.mkdir()
    (bare_dir / "bare.py").write_text(f"DB = {str(db)!r}\n" + BARE_APP)
    (bare_dir / "benchlookup.py").write_text(f"DB = {str(db)!r}\n" + LOOKUP_SERVICE)
    os.environ["LAB_SERVICE_PACKAGES"] = "benchlookup"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(bare_dir), os.environ.get("PYTHONPATH", "")])
    sys.path.insert(0, str(bare_dir))
    os.environ["LAB_LOOKUP_URL"] = f"http://127.0.0.1:{free_port()}"
    stack = stack_for(home, {"shop", "payments", "inspector", "lookup"})
    stack.up(timeout=60)
    port = free_port()
    bare = spawn([sys.executable, "-m", "uvicorn", "bare:app", "--port", str(port), "--no-access-log",
                  "--log-level", "warning"], log_path=bare_dir / "bare.log", cwd=bare_dir)
    try:
        assert wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/api/products/1"), timeout=30)
        shop_url = os.environ["LAB_SHOP_URL"] + "/api/products/1"
        assert requests.get(shop_url).status_code == 200
        lookup_url = os.environ["LAB_LOOKUP_URL"] + "/api/products/1"
        assert requests.get(lookup_url).json() == requests.get(f"http://127.0.0.1:{port}/api/products/1").json()
        shop, lookup, plain = [], [], []
        for _ in range(2):  # alternate, so a noisy neighbour hurts all alike
            shop.append(wrk(shop_url, seconds))
            lookup.append(wrk(lookup_url, seconds))
            plain.append(wrk(f"http://127.0.0.1:{port}/api/products/1", seconds))
        result = {"shop_rps": round(max(shop)), "lookup_rps": round(max(lookup)), "bare_rps": round(max(plain)),
                  "ratio": round(max(shop) / max(plain), 2), "platform_ratio": round(max(lookup) / max(plain), 2)}
        print(f"  tracing {'on ' if tracing else 'off'}: bare FastAPI {result['bare_rps']} req/s; the same lookup as "
              f"a lab service {result['lookup_rps']} req/s ({result['platform_ratio']:.2f}x); the shop's GET "
              f"{result['shop_rps']} req/s ({result['ratio']:.2f}x)", file=sys.stderr)
        return result
    finally:
        terminate(bare.pid)
        stack.down()
        for name in ("LAB_TRACING", "LAB_SERVICE_PACKAGES", "LAB_LOOKUP_URL"):
            os.environ.pop(name, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench_host: wrk is not installed (apt-get install wrk); skipping throughput.", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        sys.path.insert(0, str(tmp))
        os.environ["PYTHONPATH"] = os.pathsep.join([str(tmp), str(ROOT), os.environ.get("PYTHONPATH", "")])
        os.environ["LAB_SERVICE_PACKAGES"] = toy_packages(tmp, 12)
        real = {"shop", "payments", "inspector"}
        toys = {f"toy{i}" for i in range(12)}
        print("memory and start-up (`lab up` of the services, fresh state):", file=sys.stderr)
        result = {
            "today": measure_set("today's services", real, args.runs, tmp),
            "ten_toys": measure_set("ten toy services", {f"toy{i}" for i in range(10)}, args.runs, tmp),
            "fifteen": measure_set("today's + twelve toys", real | toys, args.runs, tmp),
        }
        os.environ.pop("LAB_SERVICE_PACKAGES")
        print("stop and start, per service (median of 5):", file=sys.stderr)
        result["stop_start"] = stop_start(tmp)
        if shutil.which("wrk"):
            print(f"throughput of GET /api/products/1 ({args.seconds} s per run):", file=sys.stderr)
            result["throughput"] = {"tracing_on": throughput(tmp, args.seconds, True),
                                    "tracing_off": throughput(tmp, args.seconds, False)}
    fifteen = result["fifteen"]
    checks = {
        f"fifteen services within {BUDGET_PSS_MB:.0f} MB PSS": fifteen["pss_mb"] <= BUDGET_PSS_MB,
        f"fifteen services healthy within {BUDGET_STARTUP_S:.0f} s": fifteen["startup_s_max"] <= BUDGET_STARTUP_S,
        f"a stopped service refuses within {BUDGET_REFUSE_S:.0f} s":
            all(v["stop_to_refused_s"] <= BUDGET_REFUSE_S for v in result["stop_start"].values()),
    }
    if "throughput" in result:
        checks[f"shop at {BUDGET_RATIO}x of a bare app or better (tracing on)"] = \
            result["throughput"]["tracing_on"]["ratio"] >= BUDGET_RATIO
    for what, ok in checks.items():
        print(f"{'ok  ' if ok else 'OVER'} {what}", file=sys.stderr)
    result["budgets_met"] = checks
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
