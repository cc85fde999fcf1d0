"""Measure the brokers: `lab up` to all healthy, and the memory (RSS) of RabbitMQ, Kafka and Tansu.

Runs the real stack (brokers and services) in fresh state folders on free ports:
a cold start (Kafka formats its storage, RabbitMQ creates its database), then a warm
restart of the same folder, several times; then the same with Tansu in Kafka's place.
With ``--cold-fetch`` it also times fetching Kafka's jars from Maven Central into an
empty cache and an empty Maven repository (about 60 MB, so off by default).

    python bench/bench_brokers.py [--runs 3] [--json] [--cold-fetch]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labkit import components, config  # noqa: E402
from labkit.brokers import jars  # noqa: E402
from labkit.procs import free_port  # noqa: E402
from labkit.stack import Stack  # noqa: E402

BUDGET = {"startup_s": 30.0, "rss_mb": {"rabbitmq": 200.0, "kafka": 400.0, "tansu": 100.0}}
SETTLE_S = 3.0  # let start-up allocations settle before reading RSS


def free_addresses() -> None:
    os.environ["LAB_AMQP_URL"] = f"amqp://guest:guest@127.0.0.1:{free_port()}"
    os.environ["LAB_RABBITMQ_MANAGEMENT_URL"] = f"http://127.0.0.1:{free_port()}"
    os.environ["LAB_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    os.environ["LAB_RABBITMQ_PROMETHEUS_URL"] = f"http://127.0.0.1:{free_port()}"
    for comp in components.components():
        if comp.kind == "service":
            os.environ[config.env_name(comp.name)] = f"http://127.0.0.1:{free_port()}"
        elif comp.kind == "monitor":
            os.environ[comp.address_env] = f"http://127.0.0.1:{free_port()}"
    os.environ["LAB_HOST_URL"] = f"http://127.0.0.1:{free_port()}"


def timed_up(stack: Stack) -> float:
    started = time.perf_counter()
    stack.up(timeout=300)
    return time.perf_counter() - started


def one_run(home: Path) -> dict:
    """Cold start, RSS, warm restart of the same state folder."""
    stack = Stack(home=home)
    try:
        cold = timed_up(stack)
        time.sleep(SETTLE_S)
        rss = {s.name: s.rss_mb or 0.0 for s in stack.status()}
        impl = next(s.details.get("implementation", "?") for s in stack.status() if s.name == "kafka")
        stack.down()
        warm = timed_up(stack)
        return {"cold_s": cold, "warm_s": warm, "rss_mb": rss, "kafka": impl}
    finally:
        stack.down()


def cold_fetch(tmp: Path) -> float:
    """Seconds to fetch Kafka's jars with nothing cached (a private cache and Maven repository)."""
    os.environ["LAB_CACHE"] = str(tmp / "cache")
    os.environ["MAVEN_OPTS"] = f"{os.environ.get('MAVEN_OPTS', '')} -Dmaven.repo.local={tmp / 'm2'}".strip()
    started = time.perf_counter()
    try:
        jars.fetch(lambda msg: print(f"  {msg}", file=sys.stderr))
    finally:
        del os.environ["LAB_CACHE"], os.environ["MAVEN_OPTS"]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cold-fetch", action="store_true", help="also time a first fetch of Kafka's jars")
    args = parser.parse_args()

    result: dict = {"runs": args.runs, "budget": BUDGET}
    with tempfile.TemporaryDirectory() as tmp:
        if args.cold_fetch:
            result["kafka_jars_cold_fetch_s"] = round(cold_fetch(Path(tmp)), 1)
        jars.fetch()  # the runs below measure start-up, not the first download
        for impl in ("apache", "tansu"):
            os.environ["LAB_KAFKA_IMPL"] = impl
            runs = []
            for i in range(args.runs):
                free_addresses()
                run = one_run(Path(tmp) / f"{impl}-{i}")
                runs.append(run)
                print(f"{impl} run {i + 1}/{args.runs}: cold {run['cold_s']:.1f} s, warm {run['warm_s']:.1f} s, "
                      f"RSS {json.dumps(run['rss_mb'])}", file=sys.stderr)
            result[impl] = {
                "kafka": runs[0]["kafka"],
                "cold_s_median": round(statistics.median(r["cold_s"] for r in runs), 2),
                "cold_s_max": round(max(r["cold_s"] for r in runs), 2),
                "warm_s_median": round(statistics.median(r["warm_s"] for r in runs), 2),
                "rss_mb": {name: round(statistics.median(r["rss_mb"][name] for r in runs), 1) for name in runs[0]["rss_mb"]},
            }
    os.environ.pop("LAB_KAFKA_IMPL", None)

    rss = {"rabbitmq": result["apache"]["rss_mb"]["rabbitmq"], "kafka": result["apache"]["rss_mb"]["kafka"],
           "tansu": result["tansu"]["rss_mb"]["kafka"]}
    result["broker_rss_mb"] = rss
    ok = (max(result[i]["cold_s_max"] for i in ("apache", "tansu")) <= BUDGET["startup_s"]
          and all(rss[name] <= BUDGET["rss_mb"][name] for name in rss))
    result["within_budget"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for impl in ("apache", "tansu"):
            r = result[impl]
            print(f"{r['kafka']:<13} lab up to all healthy: cold median {r['cold_s_median']:.1f} s "
                  f"(worst {r['cold_s_max']:.1f} s), warm {r['warm_s_median']:.1f} s "
                  f"(budget {BUDGET['startup_s']:.0f} s)")
        for name, mb in rss.items():
            print(f"  {name:<9} {mb:6.1f} MB RSS (budget {BUDGET['rss_mb'][name]:.0f} MB)")
        if "kafka_jars_cold_fetch_s" in result:
            print(f"  Kafka jars, first fetch from Maven Central: {result['kafka_jars_cold_fetch_s']:.0f} s")
    print("within budget" if ok else "OVER BUDGET", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
