"""lab release --student-edition: the repository without solutions, tests or answers; check() still works in it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.grading import edition, notebook
from labkit.grading.release import ReleaseError

from .conftest import EXERCISES, SOLUTIONS, solution_path
from .test_commands import run

ROOT = Path(__file__).resolve().parents[2]
# Where the checks compute what an answer computes (they run on the student's machine, so they ship).
CHECKER_OVERLAPS = {"labkit/events.py", "labkit/grading/exercises/ex05.py", "labkit/grading/exercises/shopapi.py"}


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "integration-lab-student"
    assert run(["release", "--student-edition", str(out)]) == 0
    return out


def every_file(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]


def test_the_edition_has_no_instructor_folders_and_keeps_the_students(made):
    assert not (made / "solutions").exists() and not (made / "tests").exists()
    assert not (made / "bench" / "bench_grading.py").exists()
    for name in ("README.md", "Makefile", "pyproject.toml", "labkit/check.py", "notebooks/00-start-here.ipynb",
                 "labservices/shop/main.py", ".gitignore", "start", "postBuild"):
        assert (made / name).is_file(), name
    assert os.access(made / "start", os.X_OK)  # modes kept
    for starter in EXERCISES.glob("ex*.ipynb"):
        assert (made / "exercises" / starter.name).read_bytes() == starter.read_bytes()
    assert not (made / ".venv").exists() and not (made / ".git").exists() and not (made / "my-work").exists()


def test_no_notebook_in_the_edition_has_a_solution_marker(made):
    for path in made.rglob("*.ipynb"):
        assert "BEGIN SOLUTION" not in path.read_text() and "END SOLUTION" not in path.read_text(), path


def test_no_file_in_the_edition_holds_any_solutions_answer_code(made):
    windows = edition.answer_windows(SOLUTIONS)
    per_exercise = {ex for ex in windows.values()}
    assert per_exercise == {p.name[:4] for p in SOLUTIONS.glob("ex*.ipynb")}  # every solution has distinctive code
    found = {}
    for path in every_file(made):
        hits = edition.answers_in(path, windows)
        if hits:
            found[path.relative_to(made).as_posix()] = hits
    assert set(found) <= CHECKER_OVERLAPS, found
    assert "markers" not in {h for hits in found.values() for h in hits}


def test_each_solutions_longest_answer_block_is_nowhere_in_the_edition(made):
    """A raw search, independent of edition.py's normalising: each solution's biggest answer block, line by line."""
    texts = {p: p.read_text(errors="replace") for p in every_file(made)}
    for path in SOLUTIONS.glob("ex*.ipynb"):
        blocks = [c.source.split("# BEGIN SOLUTION", 1)[1].split("# END SOLUTION", 1)[0]
                  for c in notebook.read(path).cells if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source]
        biggest = max(blocks, key=len).strip()
        assert len(biggest.splitlines()) >= 3, path.name
        assert not [p for p, t in texts.items() if biggest in t], path.name


def test_the_edition_refuses_a_folder_that_is_not_empty_or_is_inside_the_repository(tmp_path, capsys):
    (tmp_path / "x").write_text("keep me")
    assert run(["release", "--student-edition", str(tmp_path)]) == 1
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "x").read_text() == "keep me"
    with pytest.raises(ReleaseError, match="inside the repository"):
        edition.write(ROOT, ROOT / "build" / "edition")


def test_the_edition_refuses_when_a_file_holds_an_answer(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(SOLUTIONS, repo / "solutions")
    shutil.copytree(EXERCISES, repo / "exercises")
    leaked = solution_path("ex03").read_text()
    (repo / "notes.ipynb").write_text(leaked)  # a notebook an author forgot, with the answers in it
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with pytest.raises(ReleaseError, match=r"no student edition was written: notes.ipynb: ex03, markers\."):
        edition.write(repo, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (repo / "notes.ipynb").unlink()
    made = edition.write(repo, tmp_path / "out")
    assert sorted(made.files) == sorted(f"exercises/{p.name}" for p in EXERCISES.iterdir())


EDITION_CHECK = """
import json, sys
from pathlib import Path
import labkit, labkit.cli
from labkit import workspace
from labkit.check import check
edition = Path.cwd().resolve()
assert Path(labkit.__file__).resolve().is_relative_to(edition), labkit.__file__
labkit.cli.build_parser().parse_args(["up"])
copied = workspace.sync()
ns = {"__name__": "__main__"}
for cell in json.load(sys.stdin):  # as a kernel runs them: a demo cell that fails does not stop the rest
    try:
        exec(cell, ns)
    except Exception:
        pass
feedback = check("ex01", namespace=ns)
print(json.dumps({"copied": [p.name for p in copied], "score": feedback.score, "max": feedback.max_score,
                  "text": str(feedback)}))
"""


def test_check_works_from_the_edition_and_its_student_copy(made, shop_url):
    """The edition's own labkit (not this checkout's) makes my-work/ and checks ex01 against a live shop."""
    from labkit.grading.child import without_check_calls

    answers = json.dumps([without_check_calls(c["source"])
                          for c in notebook.code_cells(notebook.read(solution_path("ex01")))])
    env = {**os.environ, "PYTHONPATH": str(made)}
    done = subprocess.run([sys.executable, "-c", EDITION_CHECK], input=answers, cwd=made, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["copied"] == sorted(p.name for p in EXERCISES.glob("ex*.ipynb"))
    assert (made / "my-work" / "ex01-rest-client.ipynb").read_bytes() == (EXERCISES / "ex01-rest-client.ipynb").read_bytes()
    assert result["score"] == result["max"] == 14, result["text"]
