"""What ``lab grade`` writes: ``gradebook.csv``, ``gradebook.json`` and ``feedback/<student>.md``.

The CSV has one row per student: a column per check and per exercise, ``total``,
``status`` and ``notes``. The JSON holds the same and every check's expected/seen.
Each feedback file is the table the student saw from ``check()``. Files are
replaced whole (written aside, then renamed), so a re-run never leaves a mix.
"""
from __future__ import annotations

import csv
import html
import io
import json
import os
import re
from pathlib import Path

from .batch import Graded
from .exercise import Exercise
from .report import Feedback

STATUS_UK = {
    "not_graded": "не перевірено: сервіс або брокер для перевірки був недоступний",
    "ok": "усе виконано без збоїв",
    "error": "частина коду кинула виняток",
    "exited": "код завершив процес (sys.exit / os._exit)",
    "timeout": "код працював задовго і був зупинений",
    "memory_limit": "код використав забагато пам'яті",
    "crashed": "процес аварійно завершився",
    "output_truncated": "код надрукував забагато; вивід обрізано",
    "missing": "не всі вправи здано",
    "invalid": "файл не вдалося прочитати як зошит",
}


def columns(exercises: dict[str, Exercise]) -> list[str]:
    cols = ["student"]
    for ex in exercises.values():
        cols += [c.id for c in ex.checks] + [ex.id]
    return cols + ["total", "status", "notes"]


def row(graded: Graded, exercises: dict[str, Exercise]) -> dict:
    out = {"student": graded.student}
    for ex_id in exercises:
        report = graded.reports[ex_id]
        for r in report.results:
            out[r.check] = r.earned
        out[ex_id] = report.score
    out.update(total=graded.total, status=graded.status, notes=" | ".join(graded.notes))
    return out


def to_csv(results: list[Graded], exercises: dict[str, Exercise]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(exercises), lineterminator="\n")
    writer.writeheader()
    for g in results:
        writer.writerow(row(g, exercises))
    return buf.getvalue()


def to_json(results: list[Graded], exercises: dict[str, Exercise], settings: dict) -> dict:
    return {
        "exercises": {
            ex.id: {"title": ex.title, "points": ex.points,
                    "checks": [{"id": c.id, "points": c.points, "description": c.description} for c in ex.checks]}
            for ex in exercises.values()
        },
        "max_total": sum(ex.points for ex in exercises.values()),
        "settings": settings,
        "students": [
            {"student": g.student, "total": g.total, "status": g.status, "notes": g.notes,
             "files": g.files, "isolation": g.isolation, "seconds": g.seconds,
             "exercises": {k: r.to_dict() for k, r in g.reports.items()}}
            for g in results
        ],
    }


def feedback_markdown(graded: Graded, exercises: dict[str, Exercise]) -> str:
    max_total = sum(ex.points for ex in exercises.values())
    lines = [f"# Результати перевірки: {graded.student}", "",
             f"**Разом: {graded.total}/{max_total}** · статус: `{graded.status}` "
             f"({STATUS_UK.get(graded.status, graded.status)})", ""]
    if graded.notes:
        lines += ["Примітки перевірки:", ""] + [f"- {n}" for n in graded.notes] + [""]
    body = Feedback(list(graded.reports.values())).to_markdown()
    return "\n".join(lines) + "\n" + body


def feedback_html(graded: Graded, exercises: dict[str, Exercise]) -> str:
    max_total = sum(ex.points for ex in exercises.values())
    e = html.escape
    notes = "".join(f"<li>{e(n)}</li>" for n in graded.notes)
    return ("<!doctype html><meta charset='utf-8'>"
            f"<title>{e(graded.student)}</title><h1>Результати перевірки: {e(graded.student)}</h1>"
            f"<p><b>Разом: {graded.total}/{max_total}</b> · статус: <code>{e(graded.status)}</code> "
            f"({e(STATUS_UK.get(graded.status, graded.status))})</p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + Feedback(list(graded.reports.values()))._repr_html_() + "\n")


def safe_name(student: str) -> str:
    return re.sub(r"[^\w.@-]+", "_", student).strip("._") or "student"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write(out: Path, results: list[Graded], exercises: dict[str, Exercise], settings: dict,
          feedback_format: str = "md") -> dict[str, Path]:
    """Write every output into ``out``; the paths written."""
    out = Path(out)
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "gradebook.csv", "json": out / "gradebook.json", "feedback": feedback_dir}
    _write(paths["csv"], to_csv(results, exercises))
    _write(paths["json"], json.dumps(to_json(results, exercises, settings), ensure_ascii=False, indent=1) + "\n")
    render = feedback_html if feedback_format == "html" else feedback_markdown
    written = set()
    for g in results:
        name = f"{safe_name(g.student)}.{feedback_format}"
        _write(feedback_dir / name, render(g, exercises))
        written.add(name)
    for old in feedback_dir.iterdir():  # feedback of students no longer in the batch
        if old.suffix in (".md", ".html") and old.name not in written:
            old.unlink()
    return paths
