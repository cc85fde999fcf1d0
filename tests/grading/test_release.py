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


def test_release_writes_then_check_detects_drift_and_stale_files(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, solutions)
    written = release.release(solutions, exercises)
    assert {c.kind for c in written} == {"written"}
    assert release.release(solutions, exercises, check=True) == []

    target = next(exercises.glob("ex03-*.ipynb"))
    target.write_text(target.read_text().replace("YOUR CODE HERE", "hand edit"))
    (exercises / "ex99-old.ipynb").write_text("{}")
    drift = release.release(solutions, exercises, check=True)
    assert [(c.path.name, c.kind) for c in drift] == [(target.name, "out of date"), ("ex99-old.ipynb", "stale")]

    release.release(solutions, exercises)
    assert release.release(solutions, exercises, check=True) == []
    assert not (exercises / "ex99-old.ipynb").exists()


def test_release_check_command_exits_1_on_drift(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, solutions)
    args = lambda check: type("A", (), {"solutions": solutions, "exercises": exercises, "check": check})  # noqa: E731
    assert cmd_release(args(True)) == 1
    assert "Run `lab release` and commit the result." in capsys.readouterr().err
    assert cmd_release(args(False)) == 0
    assert cmd_release(args(True)) == 0


def test_solution_without_markers_is_refused(tmp_path, make_notebook):
    path = make_notebook(["x = 1"], name="ex05-none.ipynb")
    with pytest.raises(release.ReleaseError, match="no # BEGIN SOLUTION blocks"):
        release.release(path.parent, tmp_path / "out")
