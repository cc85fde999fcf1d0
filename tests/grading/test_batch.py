"""lab grade on a folder mixing good, partial, starter, hostile and broken submissions (ex03)."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from labkit.grading import batch
from labkit.grading.sandbox import Limits

from .conftest import PARTIAL_LOST, hostile_cases, hostile_notebook, partial_notebook, solution_path, starter_path

EX03_CHECKS = ["ex03.create", "ex03.location", "ex03.get_missing", "ex03.envelope", "ex03.validation",
               "ex03.conflict", "ex03.patch", "ex03.delete", "ex03.pagination"]
LIMITS = Limits(timeout=40, step_timeout=4)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One batch, graded once: (outcome, submissions folder, out folder, copies of the inputs)."""
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("out")
    shutil.copy(solution_path("ex03"), subs / "good.ipynb")
    (subs / "folder_student").mkdir()
    shutil.copy(solution_path("ex03"), subs / "folder_student" / "my-work.ipynb")
    shutil.copy(starter_path("ex03"), subs / "starter.ipynb")
    partial_notebook(subs / "partial.ipynb")
    (subs / "broken.ipynb").write_text("{ this is not json")
    for case in hostile_cases():
        hostile_notebook(case, subs / f"hostile_{case.name}.ipynb")
    before = {p: p.read_bytes() for p in subs.rglob("*.ipynb")}
    outcome = batch.grade(subs, out, limits=LIMITS)
    return outcome, subs, out, before


def rows(out):
    with open(out / "gradebook.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_gradebook_has_one_row_per_student_and_a_column_per_check_exercise_and_total(graded):
    outcome, subs, out, _ = graded
    with open(out / "gradebook.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["student", *EX03_CHECKS, "ex03", "total", "status", "notes"]
    students = sorted(rows(out))
    expected = sorted(["good", "folder_student", "starter", "partial", "broken"]
                      + [f"hostile_{c.name}" for c in hostile_cases()])
    assert students == expected


def test_solution_scores_full_marks_on_every_check(graded):
    _, _, out, _ = graded
    for student in ("good", "folder_student"):
        row = rows(out)[student]
        assert [int(row[c]) for c in EX03_CHECKS] == [2, 2, 2, 1, 2, 1, 2, 2, 3]
        assert (row["ex03"], row["total"], row["status"]) == ("17", "17", "ok")


def test_starter_scores_zero_everywhere(graded):
    row = rows(graded[2])["starter"]
    assert all(row[c] == "0" for c in EX03_CHECKS)
    assert (row["total"], row["status"]) == ("0", "ok")


def test_partial_submission_loses_exactly_the_broken_checks(graded):
    row = rows(graded[2])["partial"]
    full = dict(zip(EX03_CHECKS, [2, 2, 2, 1, 2, 1, 2, 2, 3]))
    for check, points in full.items():
        assert int(row[check]) == (0 if check in PARTIAL_LOST else points), check
    assert row["total"] == "13"


def test_unreadable_notebook_is_invalid_and_scores_zero(graded):
    row = rows(graded[2])["broken"]
    assert (row["status"], row["total"]) == ("invalid", "0")
    assert "not a readable notebook" in row["notes"]


@pytest.mark.parametrize("case", hostile_cases(), ids=lambda c: c.name)
def test_hostile_submission_is_contained_with_its_status_and_earned_points(graded, case):
    row = rows(graded[2])[f"hostile_{case.name}"]
    assert (row["status"], int(row["total"])) == (case.status, case.points), row["notes"]


def test_hostile_submissions_did_not_touch_other_submissions(graded):
    _, subs, _, before = graded
    for path, content in before.items():
        assert path.read_bytes() == content, path


def test_json_gradebook_holds_expected_and_seen_for_each_check(graded):
    _, _, out, _ = graded
    data = json.loads((out / "gradebook.json").read_text())
    assert data["max_total"] == 17
    assert [c["id"] for c in data["exercises"]["ex03"]["checks"]] == EX03_CHECKS
    partial = next(s for s in data["students"] if s["student"] == "partial")
    location = next(r for r in partial["exercises"]["ex03"]["results"] if r["check"] == "ex03.location")
    assert location["passed"] is False and location["expected"].startswith("заголовок Location")
    assert location["hint"]


def test_feedback_file_per_student_shows_the_same_table(graded):
    _, _, out, _ = graded
    files = sorted(p.stem for p in (out / "feedback").glob("*.md"))
    assert files == sorted(rows(out))
    text = (out / "feedback" / "partial.md").read_text()
    assert "**Разом: 13/17**" in text
    assert "| ✗ | 0/2 | 201 carries Location" in text
    assert "| ✓ | 3/3 |" in text


def test_regrading_overwrites_cleanly_with_the_same_scores(graded, tmp_path):
    outcome, subs, out, _ = graded
    first = {s: (r["total"], r["status"]) for s, r in rows(out).items()}
    only = tmp_path / "subs"
    only.mkdir()
    for name in ("good.ipynb", "partial.ipynb", "starter.ipynb"):
        shutil.copy(subs / name, only / name)
    batch.grade(only, out, limits=LIMITS, workers=2)
    batch.grade(only, out, limits=LIMITS, workers=2)
    again = rows(out)
    assert sorted(again) == ["good", "partial", "starter"]  # no duplicates, no leftovers
    assert {s: (r["total"], r["status"]) for s, r in again.items()} == {s: first[s] for s in again}
    assert sorted(p.stem for p in (out / "feedback").iterdir()) == ["good", "partial", "starter"]


def test_out_folder_inside_submissions_is_refused(tmp_path):
    shutil.copy(solution_path("ex03"), tmp_path / "a.ipynb")
    with pytest.raises(batch.BatchError, match="pick a folder outside it"):
        batch.grade(tmp_path, tmp_path / "out")


def test_empty_folder_says_what_is_expected(tmp_path):
    with pytest.raises(batch.BatchError, match=r"Expected <student>.ipynb or <student>/\*.ipynb"):
        batch.grade(tmp_path, tmp_path.parent / "out-empty")
