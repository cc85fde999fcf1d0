"""`lab grade` and `lab release` as the CLI runs them: add_parsers, the handlers, the files they write."""
from __future__ import annotations

import argparse
import csv
import json
import shutil

import pytest

from labkit.grading import catalog, commands

from .conftest import ROOT, solution_path, starter_path

HIDDEN = ROOT / "tests" / "grading" / "fixtures" / "hidden_checks"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lab")
    commands.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def course_batch(tmp_path_factory):
    """alice: every solution, in her folder; bob: every untouched starter; carol: ex03 only."""
    subs = tmp_path_factory.mktemp("course")
    for ex_id in ("ex01", "ex02", "ex03"):
        (subs / "alice").mkdir(exist_ok=True)
        (subs / "bob").mkdir(exist_ok=True)
        shutil.copy(solution_path(ex_id), subs / "alice" / solution_path(ex_id).name)
        shutil.copy(starter_path(ex_id), subs / "bob" / starter_path(ex_id).name)
    shutil.copy(solution_path("ex03"), subs / "carol.ipynb")
    return subs


def test_grade_command_writes_a_gradebook_with_every_exercise(course_batch, tmp_path, capsys):
    out = tmp_path / "grades"
    assert run(["grade", str(course_batch), "--out", str(out), "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert "Graded 3 submission(s)" in captured.out
    assert "[3/3]" in captured.err  # one progress line per submission when stderr is not a terminal
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert {s: (r["ex01"], r["ex02"], r["ex03"], r["total"], r["status"]) for s, r in rows.items()} == {
        "alice": ("14", "16", "17", "47", "ok"),
        "bob": ("0", "0", "0", "0", "ok"),
        "carol": ("0", "0", "17", "17", "missing"),
    }
    assert "No notebook for ex01." in rows["carol"]["notes"]
    data = json.loads((out / "gradebook.json").read_text())
    assert data["max_total"] == 47
    alice = next(s for s in data["students"] if s["student"] == "alice")
    assert all(r["passed"] for ex in alice["exercises"].values() for r in ex["results"])
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["alice.md", "bob.md", "carol.md"]


def test_hidden_checks_are_added_on_top_of_the_public_ones(course_batch, tmp_path):
    out = tmp_path / "grades"
    assert run(["grade", str(course_batch), "--out", str(out), "--checks", str(HIDDEN),
                "--exercise", "ex03", "--format", "html", "-q"]) == 0
    with open(out / "gradebook.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = {r["student"]: r for r in reader}
        header = reader.fieldnames
    assert header[-6:] == ["ex03.pagination", "ex03.hidden_put", "ex03", "total", "status", "notes"]
    assert (rows["alice"]["ex03.hidden_put"], rows["alice"]["ex03"]) == ("1", "18")
    assert (rows["bob"]["ex03.hidden_put"], rows["bob"]["ex03"]) == ("0", "0")
    assert "ex01" not in header
    assert "PUT on a customer is 405" in (out / "feedback" / "alice.html").read_text()


def test_public_catalog_never_includes_hidden_checks():
    assert "ex03.hidden_put" not in [c.id for c in catalog.course_exercises()["ex03"].checks]


def test_grade_command_reports_a_missing_folder_as_a_sentence(tmp_path, capsys):
    assert run(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 1
    assert "is not a folder of submissions. Pass the folder" in capsys.readouterr().err


def test_bad_checks_folder_is_reported(course_batch, tmp_path, capsys):
    bad = tmp_path / "checks"
    bad.mkdir()
    (bad / "oops.py").write_text("CHECKS = {'ex77': []}\n")
    assert run(["grade", str(course_batch), "--out", str(tmp_path / "o"), "--checks", str(bad)]) == 1
    assert "adds checks to 'ex77', which is not an exercise" in capsys.readouterr().err


def test_release_check_passes_on_the_repository(capsys):
    assert run(["release", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_moodles_submissions_zip_is_graded_into_its_offline_grading_worksheet(tmp_path, capsys):
    import zipfile

    from labkit.grading.gradebook import MOODLE_COLUMNS

    archive = tmp_path / "Integration-Lab-ex03-submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(solution_path("ex03"), "Анна Коваль_501_assignsubmission_file_/ex03-rest-server.ipynb")
        z.write(starter_path("ex03"), "=HYPERLINK(evil)_502_assignsubmission_file_ex03.ipynb")
    out = tmp_path / "grades"
    assert run(["grade", str(archive), "--out", str(out), "--moodle-max", "100", "-q"]) == 0
    assert str(out / "moodle.csv") in capsys.readouterr().out
    with open(out / "moodle.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = {r["Identifier"]: r for r in reader}
        assert reader.fieldnames == MOODLE_COLUMNS
    anna, other = rows["Participant 501"], rows["Participant 502"]
    assert (anna["Full name"], anna["Grade"], anna["Maximum Grade"]) == ("Анна Коваль", "100.00", "100.00")
    assert (other["Full name"], other["Grade"]) == ("'=HYPERLINK(evil)", "0.00")
    assert anna["Last modified (grade)"] and "Разом: 17/17" in anna["Feedback comments"]
    assert anna["Feedback comments"].startswith("<p>") and "<script" not in other["Feedback comments"]
    with open(out / "gradebook.csv", newline="") as f:
        assert sorted(r["student"] for r in csv.DictReader(f)) == ["'=HYPERLINK(evil)_502", "Анна Коваль_501"]


def test_moodles_unpacked_folders_grade_the_same_and_other_layouts_write_no_worksheet(tmp_path, course_batch):
    folder = tmp_path / "subs" / "Анна Коваль_501_assignsubmission_file_"
    folder.mkdir(parents=True)
    shutil.copy(solution_path("ex03"), folder / "ex03-rest-server.ipynb")
    assert run(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "grades"), "-q"]) == 0
    with open(tmp_path / "grades" / "moodle.csv", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert (row["Identifier"], row["Grade"], row["Maximum Grade"]) == ("Participant 501", "17.00", "17.00")
    assert run(["grade", str(course_batch), "--out", str(tmp_path / "grades"), "--exercise", "ex03", "-q"]) == 0
    assert not (tmp_path / "grades" / "moodle.csv").exists()  # not from Moodle: no worksheet (and the old one gone)
