"""What the lab console adds to the host process: its PSS with every service but the console, then with it
after a minute's worth of the page's polling (overview, queues, deliveries, events, traces).

    python bench/bench_console.py

Runs a private stack (both brokers, every service in one host process) on free ports, twice.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from bench_events import host_pss, private_stack, with_free_ports  # noqa: E402

from labkit import components, config  # noqa: E402

PAGE_CALLS = ["overview", "queues", "deliveries?limit=8", "events?limit=10", "traces?limit=10"]


def main() -> int:
    others = {c.name for c in components.components() if c.kind == "service" and c.name != "console"}
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, names in (("without", others), ("with", None)):
            with_free_ports()
            os.environ["LAB_HOME"] = str(Path(tmp) / label)
            stack = private_stack(Path(tmp) / label, names)
            try:
                stack.up(timeout=300)
                if names is None:
                    for _ in range(20):  # a minute of the page open: overview every 3 s, the panels every 5 s
                        for call in PAGE_CALLS:
                            requests.get(f"{config.url('console')}/api/{call}", timeout=30).raise_for_status()
                result[label] = host_pss(stack)
            finally:
                stack.down()
    print(f"host PSS: {result['without']} MB without the console, {result['with']} MB with it after 20 rounds of "
          f"its page's calls: +{result['with'] - result['without']:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
