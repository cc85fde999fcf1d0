"""What ``lab grade`` writes: ``gradebook.csv``, ``gradebook.json``, ``feedback/<student>.md`` and ``moodle.csv``.

The CSV has one row per student: a column per check and per exercise, ``total``,
``status`` and ``notes``. The JSON holds the same and every check's expected/seen.
Each feedback file is the table the student saw from ``check()``. When the submissions
came from Moodle, ``moodle.csv`` has the columns of Moodle's offline grading worksheet,
which its "Upload grading worksheet" imports (grade and feedback comments).

Every piece of text a submission influenced (its id, notes, what a check saw) is
cleaned and escaped for the file it goes into (see ``text``): CSV cells cannot start a
formula, Markdown and HTML show it as text. Files are replaced whole (written aside,
then renamed), so a re-run never leaves a mix.
"""
from __future__ import annotations

import csv
import html
import io
import json
import os
import time
from pathlib import Path

from . import text
from .exercise import Exercise
from .graded import Graded
from .report import Feedback

STATUS_UK = {
    "not_graded": "не перевірено: сервіс, брокер або пісочниця для перевірки були недоступні",
    "tampered": "код втрутився в канал перевірки; роботу зупинено",
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
# Moodle's offline grading worksheet (mod/assign, feedback plugin "offline"): its importer finds the columns
# by these names, matches rows by "Participant <id>" and takes the grade and the feedback comments.
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


def columns(exercises: dict[str, Exercise]) -> list[str]:
    cols = ["student"]
    for ex in exercises.values():
        cols += [c.id for c in ex.checks] + [ex.id]
    return cols + ["total", "status", "notes"]


def row(graded: Graded, exercises: dict[str, Exercise]) -> dict:
    out = {"student": text.csv_cell(graded.student, text.NAME_CHARS)}
    for ex_id in exercises:
        report = graded.reports[ex_id]
        for r in report.results:
            out[r.check] = r.earned
        out[ex_id] = report.score
    out.update(total=graded.total, status=graded.status,
               notes=text.csv_cell(" | ".join(text.bounded_notes(graded.notes)), 20_000))
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
            {"student": text.clean(g.student, text.NAME_CHARS), "feedback": feedback_name(g.student, "md"),
             "total": g.total, "status": g.status, "notes": text.bounded_notes(g.notes),
             "files": {k: text.clean(v) for k, v in g.files.items()}, "isolation": g.isolation,
             "seconds": g.seconds, "exercises": {k: r.to_dict() for k, r in g.reports.items()}}
            for g in results
        ],
    }


def feedback_name(student: str, feedback_format: str) -> str:
    return f"{text.file_stem(student)}.{feedback_format}"


def summary_uk(graded: Graded, exercises: dict[str, Exercise]) -> str:
    max_total = sum(ex.points for ex in exercises.values())
    return f"Разом: {graded.total}/{max_total} · статус: {graded.status} ({STATUS_UK.get(graded.status, graded.status)})"


def feedback_markdown(graded: Graded, exercises: dict[str, Exercise]) -> str:
    max_total = sum(ex.points for ex in exercises.values())
    lines = [f"# Результати перевірки: {text.markdown(graded.student, text.NAME_CHARS)}", "",
             f"**Разом: {graded.total}/{max_total}** · статус: `{graded.status}` "
             f"({STATUS_UK.get(graded.status, graded.status)})", ""]
    notes = text.bounded_notes(graded.notes)
    if notes:
        lines += ["Примітки перевірки:", ""] + [f"- {text.markdown(n)}" for n in notes] + [""]
    body = Feedback(list(graded.reports.values())).to_markdown()
    return "\n".join(lines) + "\n" + body


def feedback_html(graded: Graded, exercises: dict[str, Exercise]) -> str:
    max_total = sum(ex.points for ex in exercises.values())
    name = text.html_text(graded.student, text.NAME_CHARS)
    notes = "".join(f"<li>{text.html_text(n)}</li>" for n in text.bounded_notes(graded.notes))
    return ("<!doctype html><meta charset='utf-8'>"
            f"<title>{name}</title><h1>Результати перевірки: {name}</h1>"
            f"<p><b>Разом: {graded.total}/{max_total}</b> · статус: <code>{html.escape(graded.status)}</code> "
            f"({html.escape(STATUS_UK.get(graded.status, graded.status))})</p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + Feedback(list(graded.reports.values()))._repr_html_() + "\n")


def moodle_comments(graded: Graded, exercises: dict[str, Exercise]) -> str:
    """The feedback comments for Moodle (HTML, as its editor stores them): the total and each exercise's score."""
    items = "".join(f"<li>{html.escape(r.exercise)} · {html.escape(r.title)}: {r.score}/{r.max_score}</li>"
                    for r in graded.reports.values())
    return f"<p>{html.escape(summary_uk(graded, exercises))}</p><ul>{items}</ul>"


def to_moodle_csv(results: list[Graded], exercises: dict[str, Exercise], maximum: float | None = None) -> str:
    """Moodle's offline grading worksheet for the submissions that came from Moodle; grades scaled to ``maximum``."""
    max_total = sum(ex.points for ex in exercises.values())
    maximum = maximum or max_total
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MOODLE_COLUMNS)
    for g in results:
        if g.moodle is None:
            continue
        grade = round(g.total * maximum / max_total, 2) if max_total else 0
        writer.writerow([f"Participant {g.moodle.id}", text.csv_cell(g.moodle.full_name, text.NAME_CHARS), "", "",
                         f"{grade:.2f}", f"{maximum:.2f}", "Yes", "", now,
                         text.csv_cell(moodle_comments(g, exercises), 20_000)])
    return buf.getvalue()


def _write(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def write(out: Path, results: list[Graded], exercises: dict[str, Exercise], settings: dict,
          feedback_format: str = "md", moodle_max: float | None = None) -> dict[str, Path]:
    """Write every output into ``out``; the paths written."""
    out = Path(out)
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "gradebook.csv", "json": out / "gradebook.json", "feedback": feedback_dir}
    _write(paths["csv"], to_csv(results, exercises))
    _write(paths["json"], json.dumps(to_json(results, exercises, settings), ensure_ascii=False, indent=1) + "\n")
    if any(g.moodle for g in results):
        paths["moodle"] = out / "moodle.csv"
        _write(paths["moodle"], to_moodle_csv(results, exercises, moodle_max))
    elif (out / "moodle.csv").exists():
        (out / "moodle.csv").unlink()
    render = feedback_html if feedback_format == "html" else feedback_markdown
    written = set()
    for g in results:
        name = feedback_name(g.student, feedback_format)
        _write(feedback_dir / name, render(g, exercises))
        written.add(name)
    for old in feedback_dir.iterdir():  # feedback of students no longer in the batch
        if old.suffix in (".md", ".html") and old.name not in written:
            old.unlink()
    return paths
