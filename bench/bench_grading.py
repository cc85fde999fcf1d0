"""Benchmark: `lab grade` on N copies of a submission next to executing the same notebooks bare with nbclient.

    python bench/bench_grading.py                      # 50 copies of solutions/ex01, workers = cores
    python bench/bench_grading.py --copies 20 --notebook solutions/ex03-rest-server.ipynb

Both runs happen in this process, on this machine, one after the other, with the same
number of parallel workers; the ratio grade/nbclient is the figure (aim: under 1.5x).
The grader does more than nbclient (a sandbox per submission, fresh shop data per
submission, every check); nbclient only runs the cells (including the check() cells,
which run the same checks inside the kernel). Finally it measures check() latency
in-process, as a student sees it in a warm kernel. Not run by the tests.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.grading import batch, notebook  # noqa: E402
from labkit.grading.child import without_check_calls  # noqa: E402
from labkit.grading.sandbox import Limits  # noqa: E402
from labkit.grading.services import PrivateService  # noqa: E402


def copies(source: Path, n: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(1, n + 1):
        path = folder / f"student{i:03d}.ipynb"
        shutil.copy(source, path)
        paths.append(path)
    return paths


def run_grade(folder: Path, out: Path, workers: int) -> tuple[float, list[float], dict]:
    started = time.perf_counter()
    outcome = batch.grade(folder, out, workers=workers, limits=Limits())
    total = time.perf_counter() - started
    statuses: dict[str, int] = {}
    for g in outcome.results:
        statuses[g.status] = statuses.get(g.status, 0) + 1
    scores = {g.total for g in outcome.results}
    return total, [g.seconds for g in outcome.results], {"statuses": statuses, "scores": sorted(scores)}


def run_nbclient(paths: list[Path], workers: int) -> tuple[float, list[float]]:
    from nbclient import NotebookClient

    def one(path: Path) -> float:
        t = time.perf_counter()
        nb = notebook.read(path)
        import nbformat

        nb = nbformat.from_dict(nb)
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - t

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        each = list(pool.map(one, paths))
    return time.perf_counter() - started, each


def check_latency(source: Path, rounds: int) -> list[float]:
    from labkit.check import check

    ns: dict = {"__name__": "__main__"}
    for cell in notebook.code_cells(notebook.read(source)):
        try:
            exec(compile(without_check_calls(cell["source"]), "<cell>", "exec"), ns)
        except Exception:  # noqa: BLE001 - a demo cell may fail; check() reports it
            pass
    ex_id = notebook.exercise_ids(notebook.read(source), source)[0]
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        check(ex_id, namespace=ns)
        times.append(time.perf_counter() - t)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=ROOT / "solutions" / "ex01-rest-client.ipynb")
    parser.add_argument("--copies", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--check-rounds", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lab-bench-"))
    shop = PrivateService("shop").start()  # for nbclient's kernels and check(); the grader starts its own
    os.environ["LAB_SHOP_URL"] = shop.address
    # Fifty notebooks share this shop and its keys: lift the per-key rate limit, or nbclient's run
    # would mostly measure waiting for 429s (each graded submission gets a fresh shop window anyway).
    import requests

    requests.put(shop.address + "/admin/rate-limit", json={"limit": 1_000_000, "window_s": 60}, timeout=10)
    try:
        paths = copies(args.notebook, args.copies, work / "submissions")
        print(f"{args.copies} copies of {args.notebook.name}, {args.workers} workers, {os.cpu_count()} cores",
              file=sys.stderr)
        g_total, g_each, g_info = run_grade(work / "submissions", work / "out", args.workers)
        n_total, n_each = run_nbclient(paths, args.workers)
        latency = check_latency(args.notebook, args.check_rounds)
    finally:
        shop.stop()
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("lab grade (sandbox + checks)", g_total, g_total / args.copies, statistics.median(g_each)),
        ("nbclient, bare execution", n_total, n_total / args.copies, statistics.median(n_each)),
    ]
    print(f"\n{'run':<30} {'total s':>8} {'s/submission':>13} {'median each s':>14}")
    for name, total, per, med in rows:
        print(f"{name:<30} {total:>8.1f} {per:>13.2f} {med:>14.2f}")
    print(f"\nratio grade / nbclient: {g_total / n_total:.2f}x   (grades: {g_info['scores']}, statuses: {g_info['statuses']})")
    print(f"check() latency over {len(latency)} runs: median {statistics.median(latency):.2f} s, "
          f"first {latency[0]:.2f} s, max {max(latency):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
