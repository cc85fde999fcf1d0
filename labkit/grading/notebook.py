"""Reading course notebooks: their code cells, which exercises they hold, their outputs.

A notebook says which exercise it is in its metadata (``{"labkit": {"exercise":
"ex01"}}``, which ``lab release`` keeps); failing that, the ``check("exNN")`` calls
in its cells say it; failing that, its file name does.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat

EXERCISE_ID = re.compile(r"\b(ex\d{2})\b")


class NotebookError(Exception):
    """A file that is not a notebook the grader can read."""


def read(path: Path) -> nbformat.NotebookNode:
    try:
        with open(path, encoding="utf-8") as f:
            return nbformat.read(f, as_version=4)
    except (OSError, ValueError, KeyError, AttributeError, TypeError, json.JSONDecodeError,
            nbformat.reader.NotJSONError) as exc:
        raise NotebookError(f"{Path(path).name} is not a readable notebook ({type(exc).__name__}).") from exc


def code_cells(nb) -> list[dict]:
    """The code cells, numbered by position in the notebook from 1 (what a student counts)."""
    return [{"index": i, "source": _text(cell.source)}
            for i, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"]


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def checked_exercises(source: str) -> list[str]:
    """Ids named in ``check("exNN")`` calls of a cell."""
    found = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return re.findall(r"check\(\s*['\"](ex\d{2})['\"]", source)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(node.args[0].value)
    return found


def exercise_ids(nb, path: Path | None = None) -> list[str]:
    """Which exercises this notebook holds, in order."""
    meta = nb.metadata.get("labkit", {}) if hasattr(nb, "metadata") else {}
    ids = meta.get("exercises") or ([meta["exercise"]] if meta.get("exercise") else [])
    if not ids:
        for cell in nb.cells:
            if cell.cell_type == "code":
                ids += [i for i in checked_exercises(_text(cell.source)) if i not in ids]
    if not ids and path is not None:
        m = EXERCISE_ID.search(Path(path).name)
        ids = [m.group(1)] if m else []
    return [str(i) for i in ids]


def strip_outputs(nb) -> None:
    """Remove outputs and execution counts: what is committed or released never has them."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)


def dumps(nb) -> str:
    """The notebook as the repository stores it: stable JSON, newline at the end."""
    return nbformat.writes(nb, version=4).rstrip("\n") + "\n"
