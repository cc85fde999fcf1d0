"""``lab release``: write the student notebooks in ``exercises/`` from ``solutions/``.

Answer code sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (nbgrader's
markers). The starter keeps everything else (the prompt: signature, docstring,
comments) and replaces each marked block with a stub at the same indentation::

    # YOUR CODE HERE
    raise NotImplementedError()

Outputs are stripped. ``release(..., check=True)`` writes nothing and reports the
files that are out of date, which is what CI runs.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from . import notebook

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b.*$")
END = re.compile(r"^[ \t]*#\s*END SOLUTION\b.*$")
SOLUTION_GLOB = "ex[0-9][0-9]-*.ipynb"


class ReleaseError(Exception):
    """A solution notebook the release cannot turn into a starter."""


@dataclass(frozen=True)
class Change:
    path: Path
    kind: str  # "written", "out of date", "missing", "stale"

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}"


def stub_source(source: str, where: str = "") -> tuple[str, int]:
    """The cell's code with each marked block replaced by the stub; and how many blocks there were."""
    out: list[str] = []
    indent: str | None = None
    blocks = 0
    for number, line in enumerate(source.splitlines(), start=1):
        if indent is None:
            m = BEGIN.match(line)
            if m:
                indent, blocks = m.group("indent"), blocks + 1
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            elif END.match(line):
                raise ReleaseError(f"{where}line {number}: END SOLUTION without BEGIN SOLUTION. Fix the markers.")
            else:
                out.append(line)
        elif END.match(line):
            indent = None
        elif BEGIN.match(line):
            raise ReleaseError(f"{where}line {number}: BEGIN SOLUTION inside another block. Close the first one.")
    if indent is not None:
        raise ReleaseError(f"{where}BEGIN SOLUTION is never closed. Add # END SOLUTION after the answer.")
    text = "\n".join(out)
    return (text + "\n" if source.endswith("\n") else text), blocks


def starter(nb, name: str = "") -> object:
    """The student's version of a solution notebook."""
    nb = copy.deepcopy(nb)
    blocks = 0
    for i, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        cell.source, n = stub_source(cell.source, f"{name} cell {i}: ")
        blocks += n
    if blocks == 0:
        raise ReleaseError(f"{name} has no # BEGIN SOLUTION blocks, so its starter would be the solution. "
                           "Mark the answer code and run again.")
    notebook.strip_outputs(nb)
    return nb


def release(solutions: Path, exercises: Path, check: bool = False) -> list[Change]:
    """Write (or with ``check``, compare) every starter; the changes made or needed."""
    solutions, exercises = Path(solutions), Path(exercises)
    sources = sorted(solutions.glob(SOLUTION_GLOB))
    if not sources:
        raise ReleaseError(f"No solution notebooks ({SOLUTION_GLOB}) in {solutions}. Pass the folder that has them.")
    changes: list[Change] = []
    wanted: set[str] = set()
    for source in sources:
        target = exercises / source.name
        wanted.add(source.name)
        text = notebook.dumps(starter(notebook.read(source), source.name))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if check:
            changes.append(Change(target, "missing" if current is None else "out of date"))
        else:
            exercises.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            changes.append(Change(target, "written"))
    for old in sorted(exercises.glob(SOLUTION_GLOB)) if exercises.is_dir() else []:
        if old.name not in wanted:
            changes.append(Change(old, "stale"))
            if not check:
                old.unlink()
    return changes
