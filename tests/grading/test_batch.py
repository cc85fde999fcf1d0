"""lab grade on one folder mixing good, partial, starter, hostile, malformed and odd submissions (ex03).

Every class of attack of issue 9 has fixtures here (``fixtures/hostile`` for code, the
folder itself for files, names and notebook structure); the good students of the same
batch must come out intact. Run inside a private PID namespace.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import time

import pytest

from labkit.grading import batch
from labkit.grading.sandbox import Limits

from .conftest import (PARTIAL_LOST, ROOT, hostile_cases, hostile_notebook, partial_notebook, solution_path,
                       starter_path, write)

EX03_CHECKS = ["ex03.create", "ex03.location", "ex03.get_missing", "ex03.envelope", "ex03.validation",
               "ex03.conflict", "ex03.patch", "ex03.delete", "ex03.pagination"]
FULL = [2, 2, 2, 1, 2, 1, 2, 2, 3]
LIMITS = Limits(timeout=40, step_timeout=4)
ODD_NAMES = {"bob": "solution", "bob_": "starter", "Bob": "starter", "=1+2": "solution", "@cmd": "solution",
             "evil\x1b[31m": "solution", "Іван Петренко": "solution"}


def malformed() -> dict[str, str]:
    """Notebooks of a broken shape, each of which once crashed the batch (class 6)."""
    nb = json.loads(solution_path("ex03").read_text())
    wrong_meta = {**nb, "metadata": {**nb["metadata"], "labkit": "ex03"}}
    int_source = {**nb, "cells": [*nb["cells"], {"cell_type": "code", "source": [1, 2, 3], "metadata": {},
                                                   "outputs": [], "execution_count": None}]}
    deep_output = {**nb, "cells": [*nb["cells"], {"cell_type": "code", "source": "", "metadata": {},
                                                    "outputs": [json.loads("[" * 80 + "]" * 80)]}]}
    return {
        "deep": '{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "wrong_meta": json.dumps(wrong_meta),
        "int_source": json.dumps(int_source),
        "deep_output": json.dumps(deep_output),
        "cells_dict": json.dumps({**nb, "cells": {"0": nb["cells"][0]}}),
        "not_utf8": "\udcff",
    }


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
    for name, text in malformed().items():
        (subs / f"malformed_{name}.ipynb").write_bytes(text.encode("utf-8", "surrogateescape"))
    for name, base in ODD_NAMES.items():
        shutil.copy(solution_path("ex03") if base == "solution" else starter_path("ex03"), subs / f"{name}.ipynb")
    # Class 7: special files and links, none of which may be opened or followed.
    os.mkfifo(subs / "fifo.ipynb")
    (subs / "zero.ipynb").symlink_to("/dev/zero")
    (subs / "linked.ipynb").symlink_to(solution_path("ex03"))
    (subs / "linked_dir").symlink_to(ROOT / "solutions", target_is_directory=True)
    (subs / "thief").mkdir()
    (subs / "thief" / "work.ipynb").symlink_to(subs / "good.ipynb")
    before = {p: p.read_bytes() for p in subs.rglob("*.ipynb") if p.is_file() and not p.is_symlink()}
    started = time.monotonic()
    outcome = batch.grade(subs, out, limits=LIMITS)
    return outcome, subs, out, before, time.monotonic() - started


def rows(out):
    with open(out / "gradebook.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_gradebook_has_one_row_per_student_and_a_column_per_check_exercise_and_total(graded):
    outcome, subs, out, _, _ = graded
    with open(out / "gradebook.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["student", *EX03_CHECKS, "ex03", "total", "status", "notes"]
    assert len(rows(out)) == len(outcome.results) == len({g.student for g in outcome.results})


def test_solution_scores_full_marks_on_every_check(graded):
    _, _, out, _, _ = graded
    for student in ("good", "folder_student", "bob", "'=1+2", "'@cmd", "evil[31m", "Іван Петренко"):
        row = rows(out)[student]
        assert [int(row[c]) for c in EX03_CHECKS] == FULL, (student, row["notes"])
        assert (row["ex03"], row["total"], row["status"]) == ("17", "17", "ok")


def test_starter_scores_zero_everywhere(graded):
    for student in ("starter", "bob_", "Bob"):
        row = rows(graded[2])[student]
        assert all(row[c] == "0" for c in EX03_CHECKS)
        assert (row["total"], row["status"]) == ("0", "ok")


def test_partial_submission_loses_exactly_the_broken_checks(graded):
    row = rows(graded[2])["partial"]
    for check, points in zip(EX03_CHECKS, FULL):
        assert int(row[check]) == (0 if check in PARTIAL_LOST else points), check
    assert row["total"] == "13"


def test_unreadable_notebook_is_invalid_and_scores_zero(graded):
    row = rows(graded[2])["broken"]
    assert (row["status"], row["total"]) == ("invalid", "0")
    assert "not a readable notebook" in row["notes"]


@pytest.mark.parametrize("name,why", [
    ("deep", "RecursionError"), ("wrong_meta", "metadata.labkit is not an object"),
    ("int_source", "source is neither text nor a list of lines"), ("deep_output", "nested more than 64 levels deep"),
    ("cells_dict", "no list of cells"), ("not_utf8", "UnicodeDecodeError"),
])
def test_a_malformed_notebook_is_invalid_with_one_sentence_and_the_batch_goes_on(graded, name, why):
    row = rows(graded[2])[f"malformed_{name}"]
    assert (row["status"], row["total"]) == ("invalid", "0")
    assert row["notes"].startswith(f"malformed_{name}.ipynb is not a readable notebook (") and why in row["notes"]


@pytest.mark.parametrize("student,why", [
    ("fifo", "fifo.ipynb is a FIFO; only regular files are graded."),
    ("zero", "zero.ipynb is a symbolic link; only regular files are graded."),
    ("linked", "linked.ipynb is a symbolic link; only regular files are graded."),
    ("linked_dir", "linked_dir is a symbolic link; only regular files are graded."),
    ("thief", "thief/work.ipynb is a symbolic link; only regular files are graded."),
])
def test_special_files_and_links_are_reported_never_opened_or_followed(graded, student, why):
    row = rows(graded[2])[student]
    assert (row["status"], row["total"]) == ("invalid", "0")
    assert why in row["notes"]


@pytest.mark.parametrize("case", hostile_cases(), ids=lambda c: c.name)
def test_hostile_submission_is_contained_with_its_status_and_earned_points(graded, case):
    row = rows(graded[2])[f"hostile_{case.name}"]
    assert (row["status"], int(row["total"])) == (case.status, case.points), row["notes"]


def test_a_submission_that_claims_another_app_address_loses_only_the_location_check(graded):
    row = rows(graded[2])["hostile_app_elsewhere"]
    assert row["ex03.location"] == "0" and row["ex03.create"] == "2"
    data = json.loads((graded[2] / "gradebook.json").read_text())
    student = next(s for s in data["students"] if s["student"] == "hostile_app_elsewhere")
    location = next(r for r in student["exercises"]["ex03"]["results"] if r["check"] == "ex03.location")
    assert "поза собою" in location["message"]


def test_hostile_submissions_did_not_touch_other_submissions(graded):
    _, _, _, before, _ = graded
    for path, content in before.items():
        assert path.read_bytes() == content, path


def test_each_student_has_a_feedback_file_of_their_own(graded):
    outcome, _, out, _, _ = graded
    files = sorted(p.name for p in (out / "feedback").iterdir())
    assert len(files) == len(outcome.results)
    data = json.loads((out / "gradebook.json").read_text())
    by_student = {s["student"]: s["feedback"] for s in data["students"]}
    assert (by_student["bob"], by_student["bob_"]) == ("bob.md", "bob_.md")
    assert by_student["Bob"].startswith("Bob~") and by_student["=1+2"].startswith("1_2~")
    assert "**Разом: 0/17**" in (out / "feedback" / by_student["bob_"]).read_text()
    assert "**Разом: 17/17**" in (out / "feedback" / "bob.md").read_text()


def test_csv_cells_never_start_a_formula(graded):
    with open(graded[2] / "gradebook.csv", newline="") as f:
        for row in csv.reader(f):
            assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


def test_outputs_hold_no_control_characters_and_stay_small(graded):
    out = graded[2]
    for path in [out / "gradebook.csv", out / "gradebook.json", *(out / "feedback").iterdir()]:
        data = path.read_text()
        assert not [c for c in data if (ord(c) < 32 and c not in "\n") or c in "\x7f\u202e"], path
        assert path.stat().st_size < 400_000, path


def test_student_text_in_markdown_is_shown_not_rendered(graded):
    out = graded[2]
    data = json.loads((out / "gradebook.json").read_text())
    name = next(s["feedback"] for s in data["students"] if s["student"] == "hostile_markup_message")
    text = (out / "feedback" / name).read_text()
    assert "<script>" not in text and "![" not in text and "\\| forged \\| cell" in text
    assert [line[:4] for line in text.splitlines() if line.startswith("#")] == ["# Ре", "### "]
    assert [line for line in text.splitlines() if line.startswith("**Разом")] == [
        "**Разом: 17/17** · статус: `error` (частина коду кинула виняток)"]
    assert "\\# Разом: 99/17" in text  # the forged total, shown as text inside the note


def test_regrading_overwrites_cleanly_with_the_same_scores(graded, tmp_path):
    outcome, subs, out, _, _ = graded
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


SLOW_APP = '''
import time
from fastapi.responses import StreamingResponse

def drip():
    while True:
        time.sleep(3)
        yield b" "

@app.middleware("http")
async def slowly(request, call_next):
    return StreamingResponse(drip(), status_code=201, headers={"Location": "/api/customers/1"})
'''


def test_an_app_that_answers_a_byte_every_3_s_is_stopped_within_the_notebooks_time(tmp_path):
    """Class 5: it once held `lab grade --timeout 20` past 200 s."""
    from .conftest import with_cell

    subs = tmp_path / "subs"
    write(with_cell(solution_path("ex03"), SLOW_APP, "end"), subs / "slow.ipynb")
    shutil.copy(solution_path("ex03"), subs / "good.ipynb")
    started = time.monotonic()
    outcome = batch.grade(subs, tmp_path / "out", limits=Limits(timeout=20, step_timeout=5, check_timeout=8),
                          workers=2)
    took = time.monotonic() - started
    slow, good = sorted(outcome.results, key=lambda g: g.student, reverse=True)
    assert (slow.status, slow.total, good.status, good.total) == ("timeout", 0, "ok", 17), slow.notes
    assert slow.seconds < 20 + 10 + 5, slow.seconds  # its 20 s, a last check's grace, closing
    assert took < 45, took


def test_out_folder_inside_submissions_is_refused(tmp_path):
    shutil.copy(solution_path("ex03"), tmp_path / "a.ipynb")
    with pytest.raises(batch.BatchError, match="pick a folder outside it"):
        batch.grade(tmp_path, tmp_path / "out")


def test_empty_folder_says_what_is_expected(tmp_path):
    with pytest.raises(batch.BatchError, match=r"Expected <student>.ipynb or <student>/\*.ipynb"):
        batch.grade(tmp_path, tmp_path.parent / "out-empty")
