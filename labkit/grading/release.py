"""``lab release``: write the student notebooks in ``exercises/`` from ``solutions/``.

Answer code sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (nbgrader's
markers). The starter keeps everything else (the prompt: signature, docstring,
comments) and replaces each marked block with a stub at the same indentation::

    # YOUR CODE HERE
    raise NotImplementedError()

Outputs are stripped. ``release(..., check=True)`` writes nothing and reports the
files that are out of date, which is what CI runs.

A student's answers are never overwritten: ``exercises/.release.json`` keeps the hash of every
notebook the release wrote, and a notebook that is no longer byte for byte what it wrote (someone
typed answers into it) is left alone, and the release stops with a sentence saying so, unless
``force``. Students work in their own copy (``labkit.workspace``), which no release touches.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import notebook

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b.*$")
END = re.compile(r"^[ \t]*#\s*END SOLUTION\b.*$")
SOLUTION_GLOB = "ex[0-9][0-9]-*.ipynb"
MANIFEST = ".release.json"  # in exercises/: what the last release wrote, so hand edits are never overwritten


class ReleaseError(Exception):
    """A solution notebook the release cannot turn into a starter."""


@dataclass(frozen=True)
class Change:
    path: Path
    kind: str  # "written", "out of date", "missing", "stale", "edited" (changed by hand: kept), "overwritten"

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


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(exercises: Path) -> dict[str, str]:
    """File name -> sha256 of what the last release wrote (empty when there is none or it is unreadable)."""
    try:
        files = json.loads((Path(exercises) / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def manifest_text(files: dict[str, str]) -> str:
    body = {"about": "Written by `lab release`: the sha256 of each notebook it wrote. A notebook whose hash differs "
                     "was changed by hand, and `lab release` will not overwrite it without --force.",
            "files": dict(sorted(files.items()))}
    return json.dumps(body, indent=1, ensure_ascii=False) + "\n"


def edited_error(edited: list[Path]) -> ReleaseError:
    names = ", ".join(str(p) for p in edited)
    return ReleaseError(
        f"{names} {'was' if len(edited) == 1 else 'were'} changed since `lab release` wrote "
        f"{'it' if len(edited) == 1 else 'them'}, so nothing was written: overwriting would destroy those changes "
        "(a student's answers?). Students: your work belongs in my-work/ (`lab up` copies the exercises there); "
        "move your answers there first. Authors: to replace the file anyway, run `lab release --force`.")


def release(solutions: Path, exercises: Path, check: bool = False, force: bool = False) -> list[Change]:
    """Write (or with ``check``, compare) every starter; the changes made or needed.

    Refuses (:class:`ReleaseError`, nothing written) to overwrite or delete a notebook that is not
    what the last release wrote, unless ``force``; with ``check`` such a notebook is reported as "edited".
    """
    solutions, exercises = Path(solutions), Path(exercises)
    sources = sorted(solutions.glob(SOLUTION_GLOB))
    if not sources:
        raise ReleaseError(f"No solution notebooks ({SOLUTION_GLOB}) in {solutions}. Pass the folder that has them.")
    written = read_manifest(exercises)
    manifest: dict[str, str] = {}
    plan: list[tuple[Path, str | None, Change]] = []  # (target, new text or None to delete, change)
    edited: list[Path] = []
    for source in sources:
        target = exercises / source.name
        text = notebook.dumps(starter(notebook.read(source), source.name))
        manifest[source.name] = digest(text)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if current is not None and digest(current) != written.get(source.name):
            edited.append(target)
            plan.append((target, text, Change(target, "edited" if check else "overwritten")))
        else:
            plan.append((target, text, Change(target, ("missing" if current is None else "out of date")
                                              if check else "written")))
    for old in sorted(exercises.glob(SOLUTION_GLOB)) if exercises.is_dir() else []:
        if old.name not in manifest:
            if digest(old.read_text(encoding="utf-8", errors="replace")) != written.get(old.name):
                edited.append(old)
            plan.append((old, None, Change(old, "stale")))
    if check:
        changes = [change for _, _, change in plan]
        if written != manifest:
            changes.append(Change(exercises / MANIFEST, "out of date" if written else "missing"))
        return changes
    if edited and not force:
        raise edited_error(edited)
    exercises.mkdir(parents=True, exist_ok=True)
    for target, text, _ in plan:
        if text is None:
            target.unlink()
        else:
            target.write_text(text, encoding="utf-8")
    changes = [change for _, _, change in plan]
    if written != manifest or not (exercises / MANIFEST).exists():
        (exercises / MANIFEST).write_text(manifest_text(manifest), encoding="utf-8")
        changes.append(Change(exercises / MANIFEST, "written"))
    return changes
