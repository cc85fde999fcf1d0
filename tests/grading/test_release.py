"""lab release: stubs keep the prompt, markers are validated, --check detects drift."""
from __future__ import annotations

import shutil

import pytest

from labkit.grading import notebook, release
from labkit.grading.commands import cmd_release

from .conftest import EXERCISES, SOLUTIONS


def test_stub_replaces_the_block_and_keeps_the_prompt_and_indentation():
    source = ('def area(r):\n    """Area of a circle."""\n    # BEGIN SOLUTION\n    return 3.14 * r * r\n'
              '    # END SOLUTION\n\nprint(area(2))\n')
    text, blocks = release.stub_source(source)
    assert blocks == 1
    assert text == ('def area(r):\n    """Area of a circle."""\n    # YOUR CODE HERE\n'
                    '    raise NotImplementedError()\n\nprint(area(2))\n')


def test_unclosed_block_is_an_error_that_says_what_to_do():
    with pytest.raises(release.ReleaseError, match="never closed. Add # END SOLUTION"):
        release.stub_source("def f():\n    # BEGIN SOLUTION\n    return 1\n")


def test_end_without_begin_is_an_error():
    with pytest.raises(release.ReleaseError, match="END SOLUTION without BEGIN"):
        release.stub_source("x = 1\n# END SOLUTION\n")


def test_released_exercises_are_up_to_date_with_solutions():
    assert release.release(SOLUTIONS, EXERCISES, check=True) == []


def test_starters_have_no_solution_code_and_no_outputs():
    for path in EXERCISES.glob("ex*.ipynb"):
        nb = notebook.read(path)
        text = "".join(c.source for c in nb.cells)
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert "raise NotImplementedError()" in text
        assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
        assert nb.metadata["labkit"]["exercise"] == path.name[:4]


def released(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, solutions)
    written = release.release(solutions, exercises)
    assert {c.kind for c in written} == {"written"}
    assert (exercises / release.MANIFEST).exists()
    assert release.release(solutions, exercises, check=True) == []
    return solutions, exercises


def answer(path):
    """A student's answer typed into a starter, as JupyterLab would save it."""
    path.write_text(path.read_text().replace("YOUR CODE HERE", "my answer"))
    return path.read_bytes()


def change_solution(solutions, ex_id="ex03"):
    source = next(solutions.glob(f"{ex_id}-*.ipynb"))
    source.write_text(source.read_text().replace("# BEGIN SOLUTION", "# a new prompt line\\n# BEGIN SOLUTION", 1))


def test_release_writes_then_check_detects_drift_and_stale_files(tmp_path):
    solutions, exercises = released(tmp_path)
    change_solution(solutions)
    (exercises / "ex99-old.ipynb").write_text("{}")
    drift = release.release(solutions, exercises, check=True)
    target = next(exercises.glob("ex03-*.ipynb"))
    assert [(c.path.name, c.kind) for c in drift] == [(target.name, "out of date"), ("ex99-old.ipynb", "stale"),
                                                        (release.MANIFEST, "out of date")]
    with pytest.raises(release.ReleaseError, match="ex99-old.ipynb was changed since"):
        release.release(solutions, exercises)  # ex99 was not written by the release: kept
    (exercises / "ex99-old.ipynb").unlink()
    assert [c.kind for c in release.release(solutions, exercises)] == ["written", "written"]
    assert release.release(solutions, exercises, check=True) == []
    assert "a new prompt line" in target.read_text()


def test_release_refuses_to_overwrite_a_notebook_changed_by_hand_and_writes_nothing(tmp_path):
    solutions, exercises = released(tmp_path)
    mine = answer(next(exercises.glob("ex01-*.ipynb")))
    change_solution(solutions, "ex01")
    change_solution(solutions, "ex03")
    ex03 = next(exercises.glob("ex03-*.ipynb")).read_bytes()
    drift = release.release(solutions, exercises, check=True)
    assert [(c.path.name[:4], c.kind) for c in drift][:2] == [("ex01", "edited"), ("ex03", "out of date")]
    with pytest.raises(release.ReleaseError) as refused:
        release.release(solutions, exercises)
    assert "was changed since `lab release` wrote it, so nothing was written" in str(refused.value)
    assert "my-work/" in str(refused.value) and "--force" in str(refused.value)
    assert next(exercises.glob("ex01-*.ipynb")).read_bytes() == mine
    assert next(exercises.glob("ex03-*.ipynb")).read_bytes() == ex03  # nothing at all was written


def test_release_keeps_an_edited_notebook_even_when_solutions_did_not_change(tmp_path):
    solutions, exercises = released(tmp_path)
    mine = answer(next(exercises.glob("ex02-*.ipynb")))
    assert [c.kind for c in release.release(solutions, exercises, check=True)] == ["edited"]
    with pytest.raises(release.ReleaseError):
        release.release(solutions, exercises)
    assert next(exercises.glob("ex02-*.ipynb")).read_bytes() == mine


def test_release_force_overwrites_an_edited_notebook(tmp_path):
    solutions, exercises = released(tmp_path)
    target = next(exercises.glob("ex01-*.ipynb"))
    answer(target)
    assert [(c.path.name, c.kind) for c in release.release(solutions, exercises, force=True)] == \
        [(target.name, "overwritten")]
    assert "my answer" not in target.read_text()
    assert release.release(solutions, exercises, check=True) == []


def test_release_without_a_manifest_treats_differing_notebooks_as_edited(tmp_path):
    solutions, exercises = released(tmp_path)
    (exercises / release.MANIFEST).unlink()
    assert [(c.path.name, c.kind) for c in release.release(solutions, exercises, check=True)] == \
        [(release.MANIFEST, "missing")]
    answer(next(exercises.glob("ex04-*.ipynb")))
    with pytest.raises(release.ReleaseError, match="ex04-"):
        release.release(solutions, exercises)


def args_for(solutions, exercises, check, force=False):
    return type("A", (), {"solutions": solutions, "exercises": exercises, "check": check, "force": force,
                      "student_edition": None})


def test_release_check_command_exits_1_on_drift(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, solutions)
    assert cmd_release(args_for(solutions, exercises, True)) == 1
    assert "run `lab release` and commit the result" in capsys.readouterr().err
    assert cmd_release(args_for(solutions, exercises, False)) == 0
    assert cmd_release(args_for(solutions, exercises, True)) == 0


def test_release_check_command_tells_a_student_their_answers_are_safe(tmp_path, capsys):
    solutions, exercises = released(tmp_path)
    mine = answer(next(exercises.glob("ex05-*.ipynb")))
    assert cmd_release(args_for(solutions, exercises, True)) == 1
    err = capsys.readouterr().err
    assert "edited" in err and "your answers are safe; work in my-work/" in err
    assert "run `lab release`" not in err  # nothing else is out of date: no advice to run the release
    assert cmd_release(args_for(solutions, exercises, False)) == 1
    assert "nothing was written" in capsys.readouterr().err
    assert next(exercises.glob("ex05-*.ipynb")).read_bytes() == mine
    assert cmd_release(args_for(solutions, exercises, False, force=True)) == 0


def test_solution_without_markers_is_refused(tmp_path, make_notebook):
    path = make_notebook(["x = 1"], name="ex05-none.ipynb")
    with pytest.raises(release.ReleaseError, match="no # BEGIN SOLUTION blocks"):
        release.release(path.parent, tmp_path / "out")
