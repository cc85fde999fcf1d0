"""The student's workspace: their own copy of the exercises, and what their file browser hides.

``exercises/`` is generated (``lab release`` writes it from ``solutions/``) and belongs to the
repository, so answers typed there can be lost to the next release or ``git pull``. Students work
in ``my-work/`` instead: :func:`sync` (run by ``lab up`` and ``lab start``) copies each
``exercises/exNN-*.ipynb`` there when ``my-work/`` has no file of that name yet, and never writes
to one that exists. An exercise that arrives later (a ``git pull``) is added; the student's own
notebooks are kept as they are. ``my-work/`` is ignored by git. A copy keeps its file name and its
``metadata.labkit.exercise``, so ``check("ex04")`` works there exactly as in ``exercises/``.

JupyterLab hides ``solutions/`` from the file browser (:func:`hide_globs`) unless
``LAB_SHOW_SOLUTIONS=1``; it is a curtain, not a lock (the folder is in the repository), which is
what the student edition (``lab release --student-edition``) is for.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDENT_DIR = "my-work"
EXERCISE_GLOB = "ex[0-9][0-9]-*.ipynb"
SHOW_SOLUTIONS_ENV = "LAB_SHOW_SOLUTIONS"
# Jupyter Server's own defaults, then the packaging noise and the answers.
HIDDEN = ("__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*.so", "*.dylib", "*~",
          "*.egg-info", ".ipynb_checkpoints", ".venv")
ANSWERS = ("solutions",)


def sync(exercises: Path | None = None, target: Path | None = None) -> list[Path]:
    """Copy into ``target`` (default ``my-work/``) every notebook of ``exercises`` it does not have yet; the copies.

    A file already in ``target`` is never opened for writing, whatever it holds (the
    exclusive create also keeps two starts at once from overwriting each other's copy).
    """
    exercises = Path(exercises) if exercises is not None else ROOT / "exercises"
    target = Path(target) if target is not None else ROOT / STUDENT_DIR
    sources = sorted(p for p in exercises.glob(EXERCISE_GLOB) if p.is_file()) if exercises.is_dir() else []
    if not sources:
        return []
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sources:
        destination = target / source.name
        if os.path.lexists(destination):
            continue
        try:
            with open(source, "rb") as src, open(destination, "xb") as dst:
                shutil.copyfileobj(src, dst)
        except FileExistsError:
            continue
        copied.append(destination)
    return copied


def sync_message(copied: list[Path]) -> str:
    """One line for the terminal: where to work, and what was just added."""
    where = STUDENT_DIR + "/"
    if not copied:
        return f"Your exercises are in {where} (work there: `lab release` and `git pull` never touch it)."
    names = ", ".join(p.name.split("-")[0] for p in copied)
    return f"Copied {len(copied)} new exercise notebook(s) into {where} ({names}): work there, never in exercises/."


def show_solutions(environ: dict[str, str] | None = None) -> bool:
    value = (environ if environ is not None else os.environ).get(SHOW_SOLUTIONS_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def hide_globs(environ: dict[str, str] | None = None) -> list[str]:
    """The names JupyterLab's file browser leaves out: packaging noise and, unless asked, ``solutions/``."""
    return list(HIDDEN) + ([] if show_solutions(environ) else list(ANSWERS))


def main() -> int:
    """``python -m labkit.workspace``: make the student's copies (compose runs it before JupyterLab)."""
    try:
        print(sync_message(sync()))
    except OSError as exc:  # e.g. a my-work/ that Docker created as root: JupyterLab still starts
        print(f"Could not copy the exercises into {STUDENT_DIR}/ ({exc}). Create the folder as your own user "
              f"(mkdir {STUDENT_DIR}) and start again; until then work on copies you save yourself.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
