"""Measure the whole stack: time from `lab up` to every component healthy, and memory (PSS) of each process.

Runs the real `lab up` in a fresh state folder on free ports, several times, and prints the
median and worst start-up time and the PSS of each process (the brokers, the service host).
Binder's limit counts memory as PSS does: pages shared between processes count once.

    python bench/bench_stack.py [--runs 3] [--kind broker|host] [--json]

The service host alone, with more services and its throughput: bench_host.py.
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
from labkit.procs import free_port  # noqa: E402
from labkit.stack import Stack  # noqa: E402

# Binder gives ~2 GB to everything: JupyterLab and kernels take ~400 MB, so the lab's own
# processes (brokers ~250 MB, the service host 150 MB at most, Prometheus and Alertmanager ~90 MB:
# bench_monitoring.py) should stay within 600 MB.
BUDGET_PSS_MB = {"host": 150.0}
BUDGET_TOTAL_PSS_MB = 600.0


def one_run(home: Path, comps: list) -> tuple[float, dict[str, float]]:
    stack = Stack(home=home, components=comps)
    started = time.perf_counter()
    try:
        stack.up(timeout=300)
        elapsed = time.perf_counter() - started
        time.sleep(1.0)  # let start-up allocations settle before reading memory
        pss = {s.name: s.pss_mb or 0.0 for s in stack.status() if s.kind != "service"}
        return elapsed, pss
    finally:
        stack.down()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--kind", choices=["broker", "host", "monitor"],
                        help="only the brokers, only the service host, or only Prometheus and Alertmanager")
    args = parser.parse_args()
    comps = [c for c in components.components() if args.kind is None or c.kind == args.kind
             or (args.kind == "host" and c.kind == "service")]
    for comp in comps:
        if comp.kind == "service":
            os.environ[config.env_name(comp.name)] = f"http://127.0.0.1:{free_port()}"
        elif comp.kind == "monitor":  # Prometheus, Alertmanager: never a student's on 9090/9093
            os.environ[comp.address_env] = f"http://127.0.0.1:{free_port()}"
    os.environ["LAB_HOST_URL"] = f"http://127.0.0.1:{free_port()}"
    os.environ.update({"LAB_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}",
                       "LAB_RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_RABBITMQ_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"})

    times, runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            elapsed, pss = one_run(Path(tmp) / f"run{i}", comps)  # fresh state: databases seeded each time
            times.append(elapsed)
            runs.append(pss)
            print(f"run {i + 1}/{args.runs}: {elapsed:.2f} s to healthy, PSS {sum(pss.values()):.0f} MB",
                  file=sys.stderr)

    per_process = {name: round(statistics.median(r[name] for r in runs), 1) for name in runs[0]}
    result = {"runs": args.runs, "startup_s_median": round(statistics.median(times), 2),
              "startup_s_max": round(max(times), 2), "pss_mb": per_process,
              "pss_mb_total": round(sum(per_process.values()), 1),
              "budget": {"pss_mb": BUDGET_PSS_MB, "pss_mb_total": BUDGET_TOTAL_PSS_MB}}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"\nstart-up to healthy: median {result['startup_s_median']:.2f} s, worst {result['startup_s_max']:.2f} s")
        for name, mb in per_process.items():
            budget = f" (budget {BUDGET_PSS_MB[name]:.0f} MB)" if name in BUDGET_PSS_MB else ""
            print(f"  {name:<10} {mb:6.1f} MB PSS{budget}")
        print(f"  {'total':<10} {result['pss_mb_total']:6.1f} MB PSS (budget {BUDGET_TOTAL_PSS_MB:.0f} MB)")
    ok = result["pss_mb_total"] <= BUDGET_TOTAL_PSS_MB and all(
        per_process.get(name, 0) <= mb for name, mb in BUDGET_PSS_MB.items())
    print("within budget" if ok else "OVER BUDGET", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
