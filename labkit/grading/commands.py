"""``lab grade`` and ``lab release``: argument parsing only; the work is in ``batch`` and ``release``.

The ``lab`` CLI calls :func:`add_parsers` with its subparsers; each parser sets
``func`` to a handler that takes the parsed arguments and returns the exit code.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def add_parsers(subparsers) -> None:
    """Add ``grade`` and ``release`` to the ``lab`` command's subparsers."""
    p = subparsers.add_parser(
        "grade", help="grade a folder of submitted notebooks into a gradebook",
        description="Grade every SUBMISSIONS/<student>.ipynb or SUBMISSIONS/<student>/*.ipynb (or Moodle's "
                    "\"Download all submissions\" zip, or its unpacked folders), each in its own sandboxed process, "
                    "against private lab services (and, for ex06/ex08/ex09, the lab's brokers: `lab up`); write "
                    "gradebook.csv, gradebook.json, feedback/<student>.md and, for Moodle, moodle.csv into --out.")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                   help="folder of submissions, one notebook, or Moodle's submissions zip")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write the gradebook and feedback")
    p.add_argument("--checks", type=Path, metavar="DIR", help="folder of extra (hidden) check files, *.py")
    p.add_argument("--exercise", action="append", dest="only", metavar="ID",
                   help="grade only this exercise (repeat for more; default: every exercise found)")
    p.add_argument("-j", "--workers", type=int, default=None,
                   help=f"submissions graded in parallel (default: two per core, {2 * (os.cpu_count() or 1)})")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="wall-clock seconds per notebook: its cells and every check (default 60)")
    p.add_argument("--step-timeout", type=float, default=10.0,
                   help="seconds one cell or one call may take (default 10)")
    p.add_argument("--check-timeout", type=float, default=30.0,
                   help="seconds one check may take, everything it waits for included (default 30)")
    p.add_argument("--memory", type=int, default=1024, metavar="MB", help="memory per submission (default 1024 MB)")
    p.add_argument("--output", type=int, default=256, metavar="KB", help="printed output kept (default 256 KB)")
    p.add_argument("--format", choices=("md", "html"), default="md", help="feedback files (default md)")
    p.add_argument("--moodle-max", type=float, default=None, metavar="POINTS",
                   help="the assignment's maximum grade in Moodle: moodle.csv scales totals to it (default: the points)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_grade)

    p = subparsers.add_parser(
        "release", help="write exercises/ (starters) from solutions/",
        description="Replace each # BEGIN SOLUTION ... # END SOLUTION block in solutions/exNN-*.ipynb with a stub "
                    "that raises NotImplementedError and write the result to exercises/.")
    p.add_argument("--solutions", type=Path, default=ROOT / "solutions", metavar="DIR")
    p.add_argument("--exercises", type=Path, default=ROOT / "exercises", metavar="DIR")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if exercises/ is out of date (CI)")
    p.add_argument("--force", action="store_true",
                   help="overwrite notebooks in exercises/ that were changed by hand (their changes are lost)")
    p.add_argument("--student-edition", type=Path, metavar="DIR",
                   help="instead: write the repository without solutions/, tests/ or any answer into DIR (new or "
                        "empty), for an instructor to publish to a class")
    p.set_defaults(func=cmd_release)


def cmd_grade(args: argparse.Namespace) -> int:
    from .batch import BatchError, grade
    from .catalog import CatalogError
    from .progress import Progress
    from .sandbox import Limits
    from .submissions import DiscoveryError, discover

    if args.workers is not None and args.workers < 1:
        print("lab grade: --workers must be 1 or more.", file=sys.stderr)
        return 2
    limits = Limits(timeout=args.timeout, step_timeout=min(args.step_timeout, args.timeout),
                    check_timeout=args.check_timeout, memory_mb=args.memory, output_kb=args.output)
    try:
        total = len(discover(args.submissions))
        progress = Progress(total, enabled=not args.quiet)
        outcome = grade(args.submissions, args.out, checks=args.checks, only=args.only, workers=args.workers,
                        limits=limits, feedback_format=args.format, moodle_max=args.moodle_max, progress=progress)
    except (BatchError, CatalogError, DiscoveryError) as exc:
        print(f"lab grade: {exc}", file=sys.stderr)
        return 1
    statuses = Counter(g.status for g in outcome.results)
    n = len(outcome.results)
    print(f"Graded {n} submission(s) in {outcome.seconds:.1f} s "
          f"({outcome.seconds / max(n, 1):.2f} s each): "
          + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    for key in ("csv", "json", "feedback", "moodle"):
        if key in outcome.paths:
            print(f"  {outcome.paths[key]}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from .release import ReleaseError, release

    if args.student_edition is not None:
        return _student_edition(args)
    try:
        changes = release(args.solutions, args.exercises, check=args.check, force=args.force)
    except ReleaseError as exc:
        print(f"lab release: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if changes:
            for c in changes:
                print(f"  {c}", file=sys.stderr)
            edited = [c for c in changes if c.kind == "edited"]
            if edited:
                print("lab release: the notebooks marked `edited` were changed by hand, and `lab release` will not "
                      "overwrite them. Students: your answers are safe; work in my-work/, the copy `lab up` makes "
                      "for you, and leave exercises/ as it came (`git checkout exercises/` once your answers are "
                      "in my-work/).", file=sys.stderr)
            if len(edited) < len(changes):
                print("lab release: exercises/ is out of date with solutions/. Authors: run `lab release` and "
                      "commit the result (it never overwrites a notebook changed by hand).", file=sys.stderr)
            return 1
        print("exercises/ is up to date with solutions/.")
        return 0
    for c in changes:
        print(f"  {c}")
    print(f"{len(changes)} file(s) changed." if changes else "exercises/ was already up to date.")
    return 0


def _student_edition(args: argparse.Namespace) -> int:
    from . import edition
    from .release import ReleaseError

    try:
        made = edition.write(ROOT, args.student_edition, solutions=args.solutions)
    except ReleaseError as exc:
        print(f"lab release: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote the student edition to {made.path}: {len(made.files)} files; left out {len(made.left_out)} "
          f"instructor files ({', '.join(edition.INSTRUCTOR_ONLY)}). No answer code is in it outside labkit/.")
    if made.checker_overlaps:
        print("  The checks compute some expected values as an answer would (they ship, since check() runs on the "
              "student's machine): " + "; ".join(made.checker_overlaps))
    print("Publish it as its own repository: cd into it, `git init`, commit, push.")
    return 0
