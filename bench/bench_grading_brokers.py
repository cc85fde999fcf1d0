"""Benchmark: `lab grade` on a class of broker-exercise submissions, graded in parallel (a share of the broker each).

    python bench/bench_grading_brokers.py                      # 30 copies of solutions/ex06 (RabbitMQ), -j 2, 4, 8
    python bench/bench_grading_brokers.py --notebook solutions/ex09-kafka.ipynb --workers 4,8
    python bench/bench_grading_brokers.py --copies 30 --workers 2,6,10 --use-running

Starts the brokers the notebook's exercise needs (RabbitMQ for ex06 and ex08, Kafka for ex09;
Tansu where Java is missing) in a fresh state folder on free ports, as `lab up` does, unless
--use-running is given and LAB_AMQP_URL / LAB_KAFKA_BOOTSTRAP name ones that answer. Each
RabbitMQ notebook gets a virtual host of its own, each Kafka notebook a namespace of its own,
so the class is graded in parallel. For each worker count it grades the class once and prints
the wall clock, the median time per submission, the statuses and the scores (every copy of a
solution must score full marks). The target for a class of 30 on a 2-core machine is under
120 s (issue 9); ex09 notebooks once took turns, about 14 s each, 7 min for 30. Not run by the tests.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.brokers import KAFKA, RABBITMQ  # noqa: E402
from labkit.brokers.probe import amqp_ready, kafka_ready  # noqa: E402
from labkit.grading import batch, catalog, notebook  # noqa: E402
from labkit.grading.sandbox import Limits  # noqa: E402
from labkit.procs import free_port  # noqa: E402
from labkit.stack import Stack  # noqa: E402

TARGET_S = 120.0
FREE_ADDRESSES = {  # what `lab up` would use, on free ports
    "rabbitmq": lambda: {"LAB_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}",
                         "LAB_RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{free_port()}"},
    "kafka": lambda: {"LAB_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"},
}
COMPONENTS = {"rabbitmq": RABBITMQ, "kafka": KAFKA}


def grade_class(source: Path, copies: int, workers: int, work: Path) -> dict:
    subs = work / f"subs-{workers}"
    subs.mkdir()
    for n in range(1, copies + 1):
        shutil.copy(source, subs / f"student{n:03d}.ipynb")
    started = time.perf_counter()
    outcome = batch.grade(subs, work / f"out-{workers}", workers=workers, limits=Limits())
    took = time.perf_counter() - started
    return {"workers": workers, "total_s": took, "median_s": statistics.median(g.seconds for g in outcome.results),
            "statuses": dict(Counter(g.status for g in outcome.results)),
            "scores": dict(Counter(g.total for g in outcome.results))}


def answers(broker: str) -> bool:
    if broker == "rabbitmq":
        return amqp_ready(os.environ.get("LAB_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"))
    host, _, port = os.environ.get("LAB_KAFKA_BOOTSTRAP", "127.0.0.1:9092").rpartition(":")
    return kafka_ready(host, int(port))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=ROOT / "solutions" / "ex06-event-subscriber.ipynb")
    parser.add_argument("--copies", type=int, default=30)
    parser.add_argument("--workers", default="2,4,8", help="comma-separated worker counts to try")
    parser.add_argument("--use-running", action="store_true", help="grade against LAB_AMQP_URL / LAB_KAFKA_BOOTSTRAP")
    args = parser.parse_args()

    exercise = catalog.exercise(notebook.read(args.notebook).metadata["labkit"]["exercise"])
    work = Path(tempfile.mkdtemp(prefix="lab-bench-brokers-"))
    stack = None
    if not args.use_running:
        os.environ["LAB_HOME"] = str(work / "home")
        for broker in exercise.brokers:
            os.environ.update(FREE_ADDRESSES[broker]())
        stack = Stack(home=work / "home", components=[COMPONENTS[b] for b in exercise.brokers])
        started = time.perf_counter()
        stack.up(timeout=300)
        print(f"{', '.join(exercise.brokers)} up in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    silent = [b for b in exercise.brokers if not answers(b)]
    if silent:
        print(f"No {', '.join(silent)} answers; run without --use-running to start one.", file=sys.stderr)
        return 1
    rows = []
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            rows.append(grade_class(args.notebook, args.copies, workers, work))
            print(f"  -j {workers}: {rows[-1]['total_s']:.1f} s", file=sys.stderr)
    finally:
        if stack is not None:
            stack.down()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.copies} copies of {args.notebook.name} ({exercise.id}, {exercise.points} points, "
          f"on {', '.join(exercise.brokers)}) on {os.cpu_count()} cores (target: under {TARGET_S:.0f} s)")
    print(f"{'workers':>8} {'total s':>8} {'median each s':>14}  statuses / scores")
    for r in rows:
        verdict = "ok" if r["total_s"] < TARGET_S else "over"
        print(f"{r['workers']:>8} {r['total_s']:>8.1f} {r['median_s']:>14.1f}  {r['statuses']} {r['scores']}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
