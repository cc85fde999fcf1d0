"""The course's exercises, and the instructor's extra (hidden) checks loaded from a folder.

An extra-checks file is plain Python kept outside the public repository::

    # hidden/ex01_more.py
    from labkit.grading.exercise import Check, expect
    CHECKS = {"ex01": [Check(id="ex01.hidden_sort", points=2, description=..., hint_uk=..., run=...)]}

It may also declare ``EXERCISE = Exercise(...)`` for an exercise of its own. Only the
grader loads these files (``lab grade --checks DIR``); ``check()`` never does.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import replace
from pathlib import Path

from .exercise import Exercise

COURSE = ("ex01", "ex02", "ex03", "ex04", "ex05", "ex06", "ex07", "ex08", "ex09", "ex10", "ex11", "ex12")
EXERCISE_ID = re.compile(r"\bex\d{2}\b")


class CatalogError(Exception):
    """An exercise id or an extra-checks file the grader cannot use."""


def course_exercises() -> dict[str, Exercise]:
    """The public exercises, by id, in course order."""
    found = {}
    for ex_id in COURSE:
        module = importlib.import_module(f"labkit.grading.exercises.{ex_id}")
        found[ex_id] = module.EXERCISE
    return found


def exercise(ex_id: str) -> Exercise:
    known = course_exercises()
    if ex_id not in known:
        raise CatalogError(f"There is no exercise {ex_id!r}. Known exercises: {', '.join(known)}.")
    return known[ex_id]


def with_extra_checks(exercises: dict[str, Exercise], folder: Path) -> dict[str, Exercise]:
    """``exercises`` plus the checks (and exercises) the ``*.py`` files in ``folder`` declare."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CatalogError(f"The checks folder {folder} does not exist. Pass the folder that holds your *.py check files.")
    result = dict(exercises)
    files = sorted(folder.glob("*.py"))
    if not files:
        raise CatalogError(f"The checks folder {folder} has no *.py files. Put files declaring CHECKS there.")
    for path in files:
        module = _load(path)
        new = getattr(module, "EXERCISE", None)
        if isinstance(new, Exercise):
            if new.id in result:
                raise CatalogError(f"{path.name} declares exercise {new.id}, which already exists; "
                                   "add to it with CHECKS instead.")
            result[new.id] = new
        extra = getattr(module, "CHECKS", {})
        if not isinstance(extra, dict):
            raise CatalogError(f"{path.name}: CHECKS must be a dict of exercise id to a list of Check.")
        for ex_id, checks in extra.items():
            if ex_id not in result:
                raise CatalogError(f"{path.name} adds checks to {ex_id!r}, which is not an exercise. "
                                   f"Known: {', '.join(result)}.")
            base = result[ex_id]
            taken = {c.id for c in base.checks}
            for c in checks:
                if c.id in taken:
                    raise CatalogError(f"{path.name}: the check id {c.id!r} is already used in {ex_id}; rename it.")
                taken.add(c.id)
            result[ex_id] = replace(base, checks=list(base.checks) + list(checks))
    return result


def _load(path: Path):
    name = f"labkit_extra_checks_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the instructor's file: say which and why
        raise CatalogError(f"Could not load the checks file {path}: {type(exc).__name__}: {exc}. Fix it and run again.") from exc
    return module
