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

EXERCISE_ID = re.compile(r"\b(ex\d{2})\b")


class NotebookError(Exception):
    """A file that is not a notebook the grader can read."""


class Node(dict):
    """A JSON object with attribute access, like nbformat's NotebookNode (without its 2 s import)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value) -> None:
        self[name] = value


def _nodes(value):
    if isinstance(value, dict):
        return Node({k: _nodes(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_nodes(v) for v in value]
    return value


def read(path: Path) -> Node:
    """The notebook (format 4) as nested Nodes; NotebookError if it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(f"{Path(path).name} is not a readable notebook ({type(exc).__name__}).") from exc
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) and "cell_type" in c for c in cells):
        raise NotebookError(f"{Path(path).name} is not a readable notebook (no list of cells).")
    for cell in cells:
        source = cell.get("source", "")
        cell["source"] = "".join(source) if isinstance(source, list) else str(source)  # as nbformat.read does
        cell.setdefault("metadata", {})
    data.setdefault("metadata", {})
    return _nodes(data)


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
    meta = nb.metadata.get("labkit", {}) if isinstance(nb.get("metadata"), dict) else {}
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
    """The notebook as the repository stores it: nbformat's stable JSON, newline at the end."""
    import nbformat

    return nbformat.writes(nbformat.from_dict(nb), version=4).rstrip("\n") + "\n"
