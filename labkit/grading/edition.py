"""``lab release --student-edition DIR``: the repository as an instructor may publish it to a class.

As nbgrader's release step does, the edition holds what students need and nothing that answers
the exercises: every file of the checkout (tracked, or new and not ignored by git) except the
instructor's (:data:`INSTRUCTOR_ONLY`: ``solutions/``; ``tests/``, whose fixtures are solutions
with one mistake; the benchmarks that grade solutions). Hidden checks never live in the
repository (``lab grade --checks DIR`` reads them from elsewhere), so none can reach it.

Before anything is written, every file that would go in is searched for the answers: a solution
marker in a notebook, or any three consecutive code lines of a ``# BEGIN SOLUTION`` block that the
starter does not show. A match outside ``labkit/`` stops the release; inside ``labkit/`` it is
reported (the checks run on the student's machine and compute the expected values themselves,
as any visible test does).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook
from .release import BEGIN, END, SOLUTION_GLOB, ReleaseError, starter

INSTRUCTOR_ONLY = ("solutions/", "tests/", "bench/bench_grading.py", "bench/bench_grading_brokers.py")
CHECKER = "labkit/"  # ships: check() runs there
WINDOW = 3  # consecutive code lines of an answer that count as the answer
MIN_CHARS = 40  # ... when they are at least this long together (not three `return` lines)


@dataclass
class Edition:
    path: Path
    files: list[str]
    left_out: list[str]
    checker_overlaps: list[str] = field(default_factory=list)  # "file: exNN", answers the checks compute too


def _code_lines(text: str) -> list[str]:
    return [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]


def _windows(lines: list[str]) -> set[str]:
    found = {"\n".join(lines[i:i + WINDOW]) for i in range(max(1, len(lines) - WINDOW + 1))}
    return {w for w in found if len(w) >= MIN_CHARS}


def answer_windows(solutions: Path) -> dict[str, str]:
    """Every window of answer code, to the solution it comes from; windows the starter shows are not answers."""
    found: dict[str, str] = {}
    for path in sorted(Path(solutions).glob(SOLUTION_GLOB)):
        nb = notebook.read(path)
        shown = _windows(_code_lines("\n".join(c.source for c in starter(nb, path.name).cells)))
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            block: list[str] | None = None
            for line in cell.source.splitlines():
                if BEGIN.match(line):
                    block = []
                elif END.match(line) and block is not None:
                    for w in _windows(_code_lines("\n".join(block))) - shown:
                        found.setdefault(w, path.name[:4])
                    block = None
                elif block is not None:
                    block.append(line)
    return found


def checkout_files(root: Path) -> list[str]:
    """The checkout's files as git sees them: tracked, plus new ones it does not ignore."""
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ReleaseError(f"{root} is not a git checkout (git ls-files failed: {exc}); the student edition is made "
                           "from a checkout, so that ignored files (.venv, my-work/, grades/) stay out.") from None
    return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p and (root / p).exists()})


def _searchable(path: Path) -> str:
    try:
        if path.suffix == ".ipynb":
            return "\n".join(c.source for c in notebook.read(path).cells)
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError, notebook.NotebookError):
        return ""  # binary files (images) hold no code


def answers_in(path: Path, windows: dict[str, str]) -> list[str]:
    """The exercises whose answer code ``path`` holds (a notebook also by its markers)."""
    text = _searchable(path)
    found = set()
    if path.suffix == ".ipynb" and any(BEGIN.match(line) or END.match(line) for line in text.splitlines()):
        found.add("markers")
    code = "\n".join(_code_lines(text))
    found.update(ex for w, ex in windows.items() if w in code)
    return sorted(found)


def write(root: Path, out: Path, solutions: Path | None = None) -> Edition:
    """Write the student edition of the checkout at ``root`` into ``out`` (new or empty, outside ``root``)."""
    root, out = Path(root).resolve(), Path(out).resolve()
    if out == root or root in out.parents:
        raise ReleaseError(f"{out} is inside the repository; write the student edition somewhere else, "
                           "e.g. ../integration-lab-student.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} already exists and is not empty; give a new folder (nothing in it is overwritten).")
    windows = answer_windows(solutions or root / "solutions")
    files = checkout_files(root)
    kept = [f for f in files if not f.startswith(INSTRUCTOR_ONLY)]
    leaks, overlaps = [], []
    for name in kept:
        if (root / name).is_symlink():
            continue
        found = answers_in(root / name, windows)
        if found:
            (overlaps if name.startswith(CHECKER) and "markers" not in found else leaks).append(
                f"{name}: {', '.join(found)}")
    if leaks:
        raise ReleaseError("These files hold answer code, so no student edition was written: " + "; ".join(leaks)
                           + ". Move the answer into solutions/ (between the markers) or add the file to "
                           "INSTRUCTOR_ONLY in labkit/grading/edition.py.")
    for name in kept:
        source, target = root / name, out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)
    return Edition(out, kept, [f for f in files if f.startswith(INSTRUCTOR_ONLY)], overlaps)
