"""Measure what monitoring costs: the PSS of Prometheus and Alertmanager while they watch the busy lab.

Runs the real `lab up` (the service host and its services, RabbitMQ, Prometheus, Alertmanager;
Kafka is left out, it changes nothing here) in a fresh state folder on free ports, keeps every
service busy with a mix of requests (so every route, status and histogram series exists), and
samples the PSS of both servers every few seconds for ``--minutes``. Prometheus's memory grows
with the series it holds in its head block, so the run reports the series count too, and the
retention (2 h) and scrape interval (5 s) are what `lab up` uses. PSS is what Binder's limit counts.

    python bench/bench_monitoring.py [--minutes 3] [--gogc 50] [--json]

``--gogc 100`` measures Go's default garbage-collector target instead of the lab's 50.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labkit import components, config  # noqa: E402
from labkit.brokers import RABBITMQ  # noqa: E402
from labkit.monitoring import server  # noqa: E402
from labkit.procs import free_port  # noqa: E402
from labkit.stack import Stack  # noqa: E402

# bench_stack.py's budget is 600 MB for the lab's own processes; brokers ~250, host ~60 today.
BUDGET_PSS_MB = {"prometheus": 80.0, "alertmanager": 40.0}
SAMPLE_EVERY_S = 5.0
PATHS = {"shop": ["/api/products", "/api/products/1", "/api/products/999999", "/api/orders", "/health"],
         "payments": ["/api/events", "/api/payment_intents", "/api/deliveries"],
         "inspector": ["/api/bins", "/api/bins/not-a-bin"]}


def free_addresses() -> None:
    os.environ.update({"LAB_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}",
                       "LAB_RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_RABBITMQ_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_HOST_URL": f"http://127.0.0.1:{free_port()}"})
    for comp in components.components():
        if comp.kind == "service":
            os.environ[config.env_name(comp.name)] = f"http://127.0.0.1:{free_port()}"
        elif comp.kind == "monitor":
            os.environ[comp.address_env] = f"http://127.0.0.1:{free_port()}"


def busy(stop: threading.Event) -> None:
    """Requests to every service, a few a second: ok, 404, 401 and 429 answers, so the series exist."""
    session = requests.Session()
    while not stop.is_set():
        for name, paths in PATHS.items():
            for path in paths:
                try:
                    session.get(config.url(name) + path, timeout=5, headers={"X-API-Key": "ratelimit-demo-key"})
                except requests.RequestException:
                    pass
        stop.wait(0.2)


def head_series() -> float | None:
    try:
        body = requests.get(config.prometheus_url() + "/api/v1/query", params={"query": "prometheus_tsdb_head_series"},
                            timeout=5).json()
        return float(body["data"]["result"][0]["value"][1])
    except (requests.RequestException, ValueError, KeyError, IndexError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--gogc", default=server.GO_ENV["GOGC"], help="Go's GC target for both servers (lab: 50)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    server.GO_ENV["GOGC"] = str(args.gogc)
    free_addresses()
    comps = [c for c in components.components() if c.name != "kafka"]
    assert RABBITMQ in comps

    samples: dict[str, list[float]] = {"prometheus": [], "alertmanager": []}
    series: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(home=Path(tmp), components=comps)
        stop = threading.Event()
        try:
            started = time.perf_counter()
            stack.up(timeout=300)
            print(f"up in {time.perf_counter() - started:.1f} s; sampling for {args.minutes:g} min", file=sys.stderr)
            threading.Thread(target=busy, args=(stop,), daemon=True).start()
            deadline = time.monotonic() + args.minutes * 60
            while time.monotonic() < deadline:
                time.sleep(SAMPLE_EVERY_S)
                now = {s.name: s.pss_mb for s in stack.status() if s.kind == "monitor"}
                for name in samples:
                    samples[name].append(now.get(name) or 0.0)
                if (count := head_series()) is not None:
                    series.append(count)
                print(f"  {time.strftime('%H:%M:%S')} prometheus {now.get('prometheus')} MB, "
                      f"alertmanager {now.get('alertmanager')} MB, {series[-1] if series else '?'} series",
                      file=sys.stderr)
            others = {s.name: s.pss_mb for s in stack.status() if s.kind in ("broker", "host")}
        finally:
            stop.set()
            stack.down()

    result = {
        "minutes": args.minutes, "gogc": args.gogc, "scrape_interval": "5s", "retention": "2h",
        "head_series": int(max(series)) if series else None,
        "pss_mb": {name: {"median": round(statistics.median(v), 1), "max": round(max(v), 1), "last": round(v[-1], 1)}
                   for name, v in samples.items() if v},
        "beside": others, "budget": BUDGET_PSS_MB,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"\nPrometheus holds {result['head_series']} series (scrape every 5 s, retention 2 h, GOGC={args.gogc})")
        for name, figures in result["pss_mb"].items():
            print(f"  {name:<13} median {figures['median']:5.1f} MB, max {figures['max']:5.1f} MB PSS "
                  f"(budget {BUDGET_PSS_MB[name]:.0f} MB)")
        print("  beside them: " + ", ".join(f"{k} {v} MB" for k, v in others.items()))
    ok = all(result["pss_mb"][n]["max"] <= mb for n, mb in BUDGET_PSS_MB.items() if n in result["pss_mb"])
    print("within budget" if ok else "OVER BUDGET", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
