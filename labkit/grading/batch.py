"""``lab grade``: grade a folder of submitted notebooks in parallel, each in its own sandbox.

A submission is ``SUBMISSIONS/<student>.ipynb`` or ``SUBMISSIONS/<student>/*.ipynb``.
For each one a worker resets its private services (see ``services``), takes a lease
on the lab's brokers when an exercise needs them (see ``brokers``), starts a
sandboxed child per notebook (see ``sandbox``), and runs the checks from the
grader's own process. Whatever a submission does, it gets a status and the points
it earned; nothing it does reaches the other submissions or the results.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook
from .brokers import BrokerSet, BrokerUnavailable
from .exercise import Exercise
from .report import Report, Result
from .runner import run_exercise
from .sandbox import Limits, SandboxStudent, worst
from .services import ServiceError, ServiceSet

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class BatchError(Exception):
    """The batch cannot start: nothing to grade, or the folders are wrong."""


@dataclass
class Submission:
    student: str
    notebooks: list[Path]


@dataclass
class Graded:
    """One student's result: what the gradebook and the feedback file show."""

    student: str
    status: str = "ok"
    notes: list[str] = field(default_factory=list)
    reports: dict[str, Report] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # exercise id -> notebook graded for it
    seconds: float = 0.0
    isolation: str = ""

    @property
    def total(self) -> int:
        return sum(r.score for r in self.reports.values())


def discover(root: Path) -> list[Submission]:
    """Every submission under ``root``, sorted by student id."""
    root = Path(root)
    if root.is_file() and root.suffix == ".ipynb":
        return [Submission(root.stem, [root])]
    if not root.is_dir():
        raise BatchError(f"{root} is not a folder of submissions. Pass the folder that holds "
                         "<student>.ipynb files or one folder per student.")
    found: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.setdefault(entry.stem, []).append(entry)
        elif entry.is_dir():
            books = sorted(p for p in entry.rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts and not p.name.startswith("."))
            found.setdefault(entry.name, []).extend(books)
    subs = [Submission(student, books) for student, books in sorted(found.items())]
    if not subs:
        raise BatchError(f"No notebooks found in {root}. Expected <student>.ipynb or <student>/*.ipynb.")
    return subs


def plan(sub: Submission, exercises: dict[str, Exercise]) -> tuple[dict[str, Path], dict[Path, list[str]], list[str]]:
    """Which notebook answers which exercise: (exercise -> notebook, notebook -> exercises, notes)."""
    chosen: dict[str, Path] = {}
    notes: list[str] = []
    for path in sub.notebooks:
        try:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                notes.append(f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB and was not graded.")
                continue
            ids = notebook.exercise_ids(notebook.read(path), path)
        except (OSError, notebook.NotebookError) as exc:
            notes.append(f"{exc}")
            continue
        if not ids:
            notes.append(f"{path.name}: no exercise id (metadata, check(\"exNN\") or file name); not graded.")
        for ex_id in ids:
            if ex_id not in exercises:
                continue
            if ex_id in chosen:
                notes.append(f"{path.name} also answers {ex_id}; graded {chosen[ex_id].name} for it.")
                continue
            chosen[ex_id] = path
    per_book: dict[Path, list[str]] = {}
    for ex_id, path in chosen.items():
        per_book.setdefault(path, []).append(ex_id)
    return chosen, per_book, notes


def missing_report(ex: Exercise, why: str) -> Report:
    results = [Result(c.id, c.description, c.points, 0, False, message=why, hint=c.hint_uk) for c in ex.checks]
    return Report(ex.id, ex.title, results, notices=[why])


def grade_submission(sub: Submission, exercises: dict[str, Exercise], services: ServiceSet,
                     limits: Limits = Limits(), hide: list[str] = (), isolate: bool = True,
                     brokers: BrokerSet | None = None) -> Graded:
    """Grade one student's notebooks; never raises for anything the submission does."""
    started = time.monotonic()
    graded = Graded(sub.student)
    chosen, per_book, notes = plan(sub, exercises)
    graded.notes += notes
    statuses = ["invalid"] if notes and not chosen else []
    for path, ex_ids in per_book.items():
        cells = notebook.code_cells(notebook.read(path))
        needed = sorted({s for e in ex_ids for s in exercises[e].services})
        wanted = sorted({b for e in ex_ids for b in exercises[e].brokers})
        try:  # before the sandbox's clock starts: Kafka may have to wait for its turn
            lease = (brokers or BrokerSet()).lease(wanted) if wanted else None
        except BrokerUnavailable as exc:
            for ex_id in ex_ids:
                graded.reports[ex_id] = missing_report(exercises[ex_id], exc.uk)
                graded.files[ex_id] = str(path)
            statuses.append("not_graded")
            graded.notes.append(f"{path.name}: Not graded: {exc}")
            continue
        try:
            addresses = services.fresh(needed)
            student = SandboxStudent(cells, services=addresses, limits=limits, hide=hide, isolate=isolate,
                                     endpoints=lease.endpoints if lease else (), env=lease.env if lease else None)
            try:
                student.load()
                for ex_id in ex_ids:
                    graded.reports[ex_id] = run_exercise(exercises[ex_id], student,
                                                         {**addresses, **(lease.services if lease else {})})
                    graded.files[ex_id] = str(path)
            finally:
                student.close()
        finally:
            if lease:
                lease.release()
        graded.isolation = student.isolation
        statuses.append(student.status())
        graded.notes += [f"{path.name}: {n}" for n in student.notes()]
    for ex_id, ex in exercises.items():
        if ex_id not in graded.reports:
            graded.reports[ex_id] = missing_report(ex, "Роботу для цієї вправи не здано.")
            statuses.append("missing")
            graded.notes.append(f"No notebook for {ex_id}.")
    graded.reports = {k: graded.reports[k] for k in exercises}
    graded.status = worst(statuses)
    graded.seconds = round(time.monotonic() - started, 2)
    return graded


def exercises_in(subs: list[Submission], exercises: dict[str, Exercise]) -> dict[str, Exercise]:
    """The exercises any submission answers, in course order: the gradebook's columns."""
    used: set[str] = set()
    for sub in subs:
        used |= set(plan(sub, exercises)[0])
    return {k: v for k, v in exercises.items() if k in used}


def grade_all(subs: list[Submission], exercises: dict[str, Exercise], *, workers: int | None = None,
              limits: Limits = Limits(), hide: list[str] = (), isolate: bool = True,
              on_done=None) -> list[Graded]:
    """Grade ``subs`` with ``workers`` in parallel (default: one per core); results sorted by student."""
    workers = max(1, workers or os.cpu_count() or 1)
    local = threading.local()
    sets: list[ServiceSet] = []
    lock = threading.Lock()
    brokers = BrokerSet()  # the lab's, shared: a lease per notebook fences each submission off

    def work(sub: Submission) -> Graded:
        if not hasattr(local, "services"):
            local.services = ServiceSet()
            with lock:
                sets.append(local.services)
        try:
            graded = grade_submission(sub, exercises, local.services, limits, hide, isolate, brokers)
        except ServiceError as exc:
            graded = Graded(sub.student, status="not_graded", notes=[f"Not graded: {exc}"],
                            reports={k: missing_report(e, "Не перевірено: сервіс для перевірки не запустився.")
                                     for k, e in exercises.items()})
        if on_done:
            on_done(graded)
        return graded

    results: list[Graded] = []
    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(subs)), thread_name_prefix="grade") as pool:
            futures = [pool.submit(work, sub) for sub in subs]
            for future in as_completed(futures):
                results.append(future.result())
    finally:
        for s in sets:
            s.stop()
    return sorted(results, key=lambda g: g.student)


@dataclass
class Outcome:
    """What one ``grade`` run produced."""

    results: list[Graded]
    exercises: dict[str, Exercise]
    paths: dict[str, Path]
    seconds: float


def grade(submissions: Path, out: Path, *, checks: Path | None = None, only: list[str] | None = None,
          workers: int | None = None, limits: Limits = Limits(), feedback_format: str = "md",
          isolate: bool = True, progress=None) -> Outcome:
    """Grade every submission under ``submissions`` and write the gradebook and feedback into ``out``."""
    from . import catalog, gradebook
    from .progress import Progress

    started = time.monotonic()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    if out == submissions or submissions in out.parents:
        raise BatchError(f"--out {out} is inside the submissions folder; pick a folder outside it.")
    exercises = catalog.course_exercises()
    if checks is not None:
        exercises = catalog.with_extra_checks(exercises, checks)
    if only:
        unknown = [i for i in only if i not in exercises]
        if unknown:
            raise BatchError(f"Unknown exercise {unknown[0]!r}. Known: {', '.join(exercises)}.")
        exercises = {k: v for k, v in exercises.items() if k in only}
    subs = discover(submissions)
    used = exercises if only else exercises_in(subs, exercises)
    if not used:
        raise BatchError(f"None of the notebooks in {submissions} answers a known exercise "
                         f"({', '.join(exercises)}). Check their names or metadata.")
    # The sandbox hides what a submission must not see: the others' work, the results, the hidden checks.
    hide = [submissions if submissions.is_dir() else submissions.parent, out]
    if checks is not None:
        hide.append(Path(checks).resolve())
    # Never hide what the sandbox itself needs: the labkit package and the Python installation.
    needed = [Path(__file__).resolve().parents[2], Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    hide = [str(h) for h in hide if not any(h == n or h in n.parents for n in needed)]
    out.mkdir(parents=True, exist_ok=True)
    bar = progress if progress is not None else Progress(len(subs), enabled=False)
    max_total = sum(e.points for e in used.values())
    results = grade_all(subs, used, workers=workers, limits=limits, hide=hide, isolate=isolate,
                        on_done=lambda g: bar.update(g.student, g.status, g.total, max_total, g.seconds))
    bar.close()
    settings = {"workers": workers or os.cpu_count(), "timeout": limits.timeout, "step_timeout": limits.step_timeout,
                "memory_mb": limits.memory_mb, "output_kb": limits.output_kb,
                "extra_checks": bool(checks), "exercises": list(used)}
    paths = gradebook.write(out, results, used, settings, feedback_format)
    return Outcome(results, used, paths, time.monotonic() - started)
