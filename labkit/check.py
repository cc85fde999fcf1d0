"""``check("exNN")``: the student's self-check in a notebook.

    from labkit import url, check
    ...
    check("ex01")      # this exercise's checks, on the functions defined in this notebook
    check()            # every exercise this notebook holds

It runs the exercise's checks against the functions in the notebook's namespace
and the live lab services, and returns a table (rich in Jupyter, plain text in a
terminal): ✓/✗, points, what was expected and what was seen, a hint in Ukrainian.
Nothing the student's code does shows up as a traceback from the checker.

``from labkit import check`` gives this module, which is callable; ``labkit`` may
also re-export the function itself, which behaves the same.
"""
from __future__ import annotations

import os
import sys
import types

__all__ = ["check"]


def _namespace() -> dict:
    """The student's namespace: the kernel's, or the calling script's globals."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        return shell.user_ns
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in (__name__, "labkit"):
        frame = frame.f_back
    return frame.f_globals if frame is not None else {}


def _notebook_exercises(namespace: dict) -> list[str]:
    """Which exercises this notebook holds: its file name if the kernel knows it, else the names it defines."""
    from labkit.grading import catalog

    known = catalog.course_exercises()
    session = os.environ.get("JPY_SESSION_NAME") or namespace.get("__session__") or ""
    found = [i for i in known if i in os.path.basename(str(session))]
    if found:
        return found
    # By the names only this exercise uses (ex03's `app` is ex10's too), else by any of its names.
    held = []
    for ex_id, ex in known.items():
        others = {n for other, o in known.items() if other != ex_id for n in o.names()}
        own = [n for n in ex.names() if n not in others] or ex.names()
        if any(name in namespace for name in own):
            held.append(ex_id)
    return held


def check(exercise: str | None = None, *, namespace: dict | None = None):
    """Run ``exercise``'s checks (or every exercise this notebook holds) and return the feedback table."""
    from labkit import config
    from labkit.grading import catalog
    from labkit.grading.report import Feedback
    from labkit.grading.runner import run_exercise
    from labkit.grading.student import KernelStudent

    if os.environ.get("LAB_GRADING"):
        return Feedback(notices=["check() is skipped while `lab grade` runs this notebook."])
    ns = namespace if namespace is not None else _namespace()
    if exercise is None:
        ids = _notebook_exercises(ns)
        if not ids:
            return Feedback(notices=["Не знайдено жодної вправи в цьому зошиті. Виконайте клітинки з вашими "
                                     "функціями або вкажіть вправу явно: check(\"ex01\")."])
    else:
        ids = [str(exercise).strip().lower()]
    known = catalog.course_exercises()
    unknown = [i for i in ids if i not in known]
    if unknown:
        return Feedback(notices=[f"Невідома вправа {unknown[0]!r}. Доступні: {', '.join(known)}."])
    student = KernelStudent(ns)
    try:
        reports = []
        for ex_id in ids:
            ex = known[ex_id]
            services = {name: config.url(name) for name in ex.services}
            reports.append(run_exercise(ex, student, services))
    finally:
        student.close()
    return Feedback(reports)


class _CallableModule(types.ModuleType):
    """Lets ``from labkit import check; check("ex01")`` work while ``labkit/__init__`` does not re-export it."""

    def __call__(self, exercise: str | None = None, *, namespace: dict | None = None):
        return check(exercise, namespace=namespace)


sys.modules[__name__].__class__ = _CallableModule
