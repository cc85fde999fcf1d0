"""Measure the stack: time from `lab up` to every service healthy, and memory (RSS) per service.

Runs the real `lab up` in a fresh state folder on free ports, several times, and
prints the median and worst start-up time and the RSS of each component.

    python bench/bench_stack.py [--runs 5] [--kind service] [--json]
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

BUDGET_SECONDS = 3.0  # HTTP services healthy within 3 s of `lab up` (brokers: bench_brokers.py)
# Binder gives ~2 GB to everything: brokers (~310 MB), JupyterLab and kernels (~400 MB) come first,
# so each HTTP service may take 75 MB and all of them together 600 MB.
BUDGET_RSS_MB_PER_SERVICE = 75.0
BUDGET_RSS_MB = 600.0


def one_run(home: Path, comps: list) -> tuple[float, dict[str, float]]:
    stack = Stack(home=home, components=comps)
    started = time.perf_counter()
    try:
        statuses = stack.up(timeout=60)
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # let import-time allocations settle before reading RSS
        rss = {s.name: s.rss_mb or 0.0 for s in stack.status()}
        return elapsed, rss
    finally:
        stack.down()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--kind", choices=["service", "broker"], help="only components of this kind")
    args = parser.parse_args()
    comps = [c for c in components.COMPONENTS if args.kind in (None, c.kind)]

    for comp in comps:
        if comp.kind == "service":
            os.environ[config.env_name(comp.name)] = f"http://127.0.0.1:{free_port()}"

    times, rss_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            home = Path(tmp) / f"run{i}"  # fresh state: databases are created and seeded each time
            elapsed, rss = one_run(home, comps)
            times.append(elapsed)
            rss_runs.append(rss)
            print(f"run {i + 1}/{args.runs}: {elapsed:.2f} s to healthy, RSS {sum(rss.values()):.0f} MB", file=sys.stderr)

    per_service = {name: statistics.median(r[name] for r in rss_runs) for name in rss_runs[0]}
    result = {
        "runs": args.runs,
        "startup_s_median": round(statistics.median(times), 3),
        "startup_s_max": round(max(times), 3),
        "rss_mb_per_service": per_service,
        "rss_mb_total": round(sum(per_service.values()), 1),
        "budget": {"startup_s": BUDGET_SECONDS, "rss_mb_per_service": BUDGET_RSS_MB_PER_SERVICE,
                   "rss_mb_total": BUDGET_RSS_MB},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"\nstart-up to healthy: median {result['startup_s_median']:.2f} s, worst {result['startup_s_max']:.2f} s "
              f"(budget {BUDGET_SECONDS:.0f} s)")
        for name, mb in per_service.items():
            print(f"  {name:<12} {mb:6.1f} MB (budget {BUDGET_RSS_MB_PER_SERVICE:.0f} MB)")
        print(f"  {'total':<12} {result['rss_mb_total']:6.1f} MB (budget {BUDGET_RSS_MB:.0f} MB)")
    ok = (result["startup_s_max"] <= BUDGET_SECONDS and result["rss_mb_total"] <= BUDGET_RSS_MB
          and all(mb <= BUDGET_RSS_MB_PER_SERVICE for name, mb in per_service.items()
                  if components.by_name(name).kind == "service"))
    print("within budget" if ok else "OVER BUDGET", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
