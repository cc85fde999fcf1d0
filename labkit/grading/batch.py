"""``lab grade``: grade a folder of submitted notebooks in parallel, each in its own sandbox.

The submissions are found by ``submissions`` (a folder, Moodle's folders or its zip).
For each one a worker resets its private services (see ``services``), takes a lease
on the lab's brokers when an exercise needs them (see ``brokers``), starts a
sandboxed child per notebook (see ``sandbox``), and runs the checks from the
grader's own process, each within its time. Whatever a submission does, it gets a
status and the points it earned; nothing it does reaches the other submissions, the
results, or the batch: a failure while grading one submission is that submission's
note, never the end of the batch.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import catalog, gradebook, notebook
from .brokers import BrokerSet, BrokerUnavailable
from .exercise import Exercise
from .graded import Graded
from .report import Report
from .runner import run_exercise, unearned
from .sandbox import Limits, SandboxStudent, SandboxUnavailable, worst
from .services import ServiceError, ServiceSet
from .submissions import DiscoveryError, Source, Submission, SubmissionError, discover

log = logging.getLogger("labkit.grading")
ROOT = Path(__file__).resolve().parents[2]
# The course's own folders no submission may see, whatever the layout (the sandbox shows only what it needs anyway).
COURSE_SECRETS = ("solutions", "tests")


def default_workers() -> int:
    """Two per core: a submission spends most of its time waiting on services, brokers and its own clock."""
    return 2 * (os.cpu_count() or 1)


class BatchError(Exception):
    """The batch cannot start: nothing to grade, the folders are wrong, or no sandbox can be built here."""


@dataclass(frozen=True)
class Planned:
    """One notebook of a submission, read once: the exercises it answers and its code cells."""

    source: Source
    exercises: list[str]
    cells: list[dict]


def plan(sub: Submission, exercises: dict[str, Exercise]) -> tuple[list[Planned], list[str], bool]:
    """Which notebook answers which exercise: (planned notebooks, notes, whether a file was unreadable)."""
    chosen: dict[str, Source] = {}
    books: list[Planned] = []
    notes: list[str] = list(sub.notes)
    unreadable = bool(sub.notes)
    for source in sub.notebooks:
        try:
            nb = notebook.parse(source.read(), source.name)
            ids = notebook.exercise_ids(nb, source.name)
            cells = notebook.code_cells(nb)
        except (SubmissionError, notebook.NotebookError) as exc:
            notes.append(str(exc))
            unreadable = True
            continue
        if not ids:
            notes.append(f"{source.name}: no exercise id (metadata, check(\"exNN\") or file name); not graded.")
        mine = []
        for ex_id in ids:
            if ex_id not in exercises:
                continue
            if ex_id in chosen:
                notes.append(f"{source.name} also answers {ex_id}; graded {chosen[ex_id].name} for it.")
                continue
            chosen[ex_id] = source
            mine.append(ex_id)
        if mine:
            books.append(Planned(source, mine, cells))
    return books, notes, unreadable


def missing_report(ex: Exercise, why: str) -> Report:
    results = [unearned(c, why) for c in ex.checks]
    return Report(ex.id, ex.title, results, notices=[why])


def grade_submission(sub: Submission, exercises: dict[str, Exercise], services: ServiceSet,
                     limits: Limits = Limits(), hide: list[str] = (), brokers: BrokerSet | None = None) -> Graded:
    """Grade one student's notebooks; never raises for anything the submission does."""
    started = time.monotonic()
    graded = Graded(sub.student, moodle=sub.moodle)
    books, notes, unreadable = plan(sub, exercises)
    graded.notes += notes
    statuses = ["invalid"] if unreadable and not books else []
    for book in books:
        try:
            statuses.append(_grade_notebook(book, graded, exercises, services, limits, hide, brokers))
        except (SandboxUnavailable, ServiceError):
            raise
        except Exception as exc:  # noqa: BLE001 - a grader bug on one submission must not end the batch
            log.exception("grading %s of %s failed", book.source.name, sub.student)
            statuses.append("not_graded")
            graded.notes.append(f"{book.source.name}: Not graded: the grader failed on it ({type(exc).__name__}); "
                                "grade it again, and report it if it happens again.")
            for ex_id in book.exercises:
                graded.reports.setdefault(ex_id, missing_report(exercises[ex_id], "Не перевірено: збій перевірки."))
    for ex_id, ex in exercises.items():
        if ex_id not in graded.reports:
            graded.reports[ex_id] = missing_report(ex, "Роботу для цієї вправи не здано.")
            statuses.append("missing")
            graded.notes.append(f"No notebook for {ex_id}.")
    graded.reports = {k: graded.reports[k] for k in exercises}
    graded.status = worst(statuses)
    graded.seconds = round(time.monotonic() - started, 2)
    return graded


def _grade_notebook(book: Planned, graded: Graded, exercises: dict[str, Exercise], services: ServiceSet,
                    limits: Limits, hide: list[str], brokers: BrokerSet | None) -> str:
    """Run one notebook in a sandbox and its exercises' checks; its status."""
    name = book.source.name
    needed = sorted({s for e in book.exercises for s in exercises[e].services})
    wanted = sorted({b for e in book.exercises for b in exercises[e].brokers})
    try:
        lease = (brokers or BrokerSet()).lease(wanted) if wanted else None
    except BrokerUnavailable as exc:
        for ex_id in book.exercises:
            graded.reports[ex_id] = missing_report(exercises[ex_id], exc.uk)
            graded.files[ex_id] = name
        graded.notes.append(f"{name}: Not graded: {exc}")
        return "not_graded"
    try:
        addresses = services.fresh(needed)
        student = SandboxStudent(book.cells, services=addresses, limits=limits, hide=hide,
                                 endpoints=lease.endpoints if lease else (), env=lease.env if lease else None)
        try:
            student.load()
            for ex_id in book.exercises:
                graded.reports[ex_id] = run_exercise(exercises[ex_id], student,
                                                     {**addresses, **(lease.services if lease else {})},
                                                     check_timeout=limits.check_timeout)
                graded.files[ex_id] = name
        finally:
            student.close()
    finally:
        if lease:
            lease.release()
    graded.isolation = student.isolation
    graded.notes += [f"{name}: {n}" for n in student.notes()]
    return student.status()


def exercises_in(subs: list[Submission], exercises: dict[str, Exercise]) -> dict[str, Exercise]:
    """The exercises any submission answers, in course order: the gradebook's columns."""
    used: set[str] = set()
    for sub in subs:
        for book in plan(sub, exercises)[0]:
            used |= set(book.exercises)
    return {k: v for k, v in exercises.items() if k in used}


def preflight(limits: Limits, hide: list[str]) -> str:
    """Build one empty sandbox: how far it is isolated, or BatchError saying why none can be built here."""
    student = SandboxStudent([], services={}, limits=limits, hide=hide)
    try:
        student.load()
    except SandboxUnavailable as exc:
        raise BatchError(str(exc)) from None
    finally:
        student.close()
    if not student.isolation:
        raise BatchError(f"The grader's sandbox did not start on this machine: {' '.join(student.notes())} "
                         "Check that `python -m labkit.grading.child` can run, then grade again.")
    return student.isolation


def grade_all(subs: list[Submission], exercises: dict[str, Exercise], *, workers: int | None = None,
              limits: Limits = Limits(), hide: list[str] = (), on_done=None) -> list[Graded]:
    """Grade ``subs`` with ``workers`` in parallel (default: two per core); results sorted by student."""
    workers = max(1, workers or default_workers())
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
            graded = grade_submission(sub, exercises, local.services, limits, hide, brokers)
        except ServiceError as exc:
            graded = Graded(sub.student, status="not_graded", notes=[f"Not graded: {exc}"], moodle=sub.moodle,
                            reports={k: missing_report(e, "Не перевірено: сервіс для перевірки не запустився.")
                                     for k, e in exercises.items()})
        except SandboxUnavailable as exc:
            graded = Graded(sub.student, status="not_graded", notes=[f"Not graded: {exc}"], moodle=sub.moodle,
                            reports={k: missing_report(e, "Не перевірено: пісочниця для перевірки не запустилася.")
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


def hidden_paths(submissions: Path, out: Path, checks: Path | None) -> list[str]:
    """What a sandbox must never see: the submissions, the results, the hidden checks, the course's answers."""
    hide = [submissions if submissions.is_dir() else submissions.parent, out,
            *(ROOT / name for name in COURSE_SECRETS)]
    if checks is not None:
        hide.append(Path(checks).resolve())
    return [str(h) for h in hide]


def grade(submissions: Path, out: Path, *, checks: Path | None = None, only: list[str] | None = None,
          workers: int | None = None, limits: Limits = Limits(), feedback_format: str = "md",
          moodle_max: float | None = None, progress=None) -> Outcome:
    """Grade every submission under ``submissions`` and write the gradebook and feedback into ``out``."""
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
    try:
        subs = discover(submissions)
    except DiscoveryError as exc:
        raise BatchError(str(exc)) from None
    used = exercises if only else exercises_in(subs, exercises)
    if not used:
        raise BatchError(f"None of the notebooks in {submissions} answers a known exercise "
                         f"({', '.join(exercises)}). Check their names or metadata.")
    hide = hidden_paths(submissions, out, checks)
    isolation = preflight(limits, hide)
    out.mkdir(parents=True, exist_ok=True)
    bar = progress if progress is not None else Progress(len(subs), enabled=False)
    max_total = sum(e.points for e in used.values())
    results = grade_all(subs, used, workers=workers, limits=limits, hide=hide,
                        on_done=lambda g: bar.update(g.student, g.status, g.total, max_total, g.seconds))
    bar.close()
    settings = {"workers": workers or default_workers(), "timeout": limits.timeout, "step_timeout": limits.step_timeout,
                "check_timeout": limits.check_timeout, "memory_mb": limits.memory_mb, "output_kb": limits.output_kb,
                "extra_checks": bool(checks), "exercises": list(used), "isolation": isolation,
                "python": sys.version.split()[0]}
    paths = gradebook.write(out, results, used, settings, feedback_format, moodle_max)
    return Outcome(results, used, paths, time.monotonic() - started)
