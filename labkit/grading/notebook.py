"""Reading course notebooks: their code cells, which exercises they hold, their outputs.

A notebook says which exercise it is in its metadata (``{"labkit": {"exercise":
"ex01"}}``, which ``lab release`` keeps); failing that, the ``check("exNN")`` calls
in its cells say it; failing that, its file name does.

:func:`parse` reads a submitted notebook as untrusted data: every shape it relies on
(cells, sources, metadata, nesting) is checked, and anything else is a
:class:`NotebookError` with one sentence, so the batch marks the file ``invalid`` and
goes on.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from .protocol import depth_ok

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


MAX_DEPTH = 64  # nesting of the notebook's JSON (Jupyter's own files stay under 10)
MAX_CELLS = 5000
CELL_TYPES = ("code", "markdown", "raw")


def parse(data: bytes, name: str) -> Node:
    """The notebook (format 4) in ``data``, checked shape by shape; NotebookError names what is wrong."""
    def bad(why: str) -> NotebookError:
        return NotebookError(f"{name} is not a readable notebook ({why}).")

    try:
        nb = json.loads(data)
    except (ValueError, RecursionError, MemoryError) as exc:  # UnicodeDecodeError is a ValueError
        raise bad(type(exc).__name__) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise bad("no list of cells")
    if not depth_ok(nb, MAX_DEPTH):
        raise bad(f"nested more than {MAX_DEPTH} levels deep")
    if len(nb["cells"]) > MAX_CELLS:
        raise bad(f"more than {MAX_CELLS} cells")
    for number, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES:
            raise bad(f"cell {number} has no cell_type of {', '.join(CELL_TYPES)}")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)  # as nbformat.read does
        if not isinstance(source, str):
            raise bad(f"cell {number}'s source is neither text nor a list of lines")
        cell["source"] = source
        if not isinstance(cell.setdefault("metadata", {}), dict):
            raise bad(f"cell {number}'s metadata is not an object")
    if not isinstance(nb.setdefault("metadata", {}), dict):
        raise bad("its metadata is not an object")
    labkit = nb["metadata"].get("labkit", {})
    if not isinstance(labkit, dict):
        raise bad("metadata.labkit is not an object")
    if not isinstance(labkit.get("exercise", ""), str):
        raise bad("metadata.labkit.exercise is not text")
    ids = labkit.get("exercises", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise bad("metadata.labkit.exercises is not a list of ids")
    return _nodes(nb)


def read(path: Path) -> Node:
    """The notebook at ``path`` (a trusted file: the course's own); NotebookError if it is not one."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise NotebookError(f"{Path(path).name} is not a readable notebook ({type(exc).__name__}).") from exc
    return parse(data, Path(path).name)


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
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a null byte
        return re.findall(r"check\(\s*['\"](ex\d{2})['\"]", source)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(node.args[0].value)
    return found


def exercise_ids(nb, path: Path | str | None = None) -> list[str]:
    """Which exercises this notebook holds, in order (ids of the form exNN only)."""
    meta = nb.metadata.get("labkit", {})
    ids = list(meta.get("exercises") or ([meta["exercise"]] if meta.get("exercise") else []))
    if not ids:
        for cell in nb.cells:
            if cell.cell_type == "code":
                ids += [i for i in checked_exercises(_text(cell.source)) if i not in ids]
    if not ids and path is not None:
        m = EXERCISE_ID.search(Path(path).name)
        ids = [m.group(1)] if m else []
    return [i for i in dict.fromkeys(str(i) for i in ids) if EXERCISE_ID.fullmatch(i)]


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
