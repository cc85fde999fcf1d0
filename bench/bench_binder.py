"""Binder's figures on this machine: build time, `start` time, memory of the whole launch while every
notebook runs (peak of a 2 GB, one-CPU cgroup), per notebook. Needs root; see tests/binder/simulation.py.

    make bench-binder        # or: .venv/bin/python bench/bench_binder.py
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.binder import simulation  # noqa: E402


def main() -> int:
    reason = simulation.why_not()
    if reason:
        print(f"bench_binder: cannot run here: {reason}.", file=sys.stderr)
        return 2
    figures = simulation.run(lambda msg: print(msg, file=sys.stderr, flush=True))
    print(figures.report())
    return 0 if all(nb["ok"] for nb in figures.notebooks.values()) and not figures.oom_kills else 1


if __name__ == "__main__":
    sys.exit(main())
