"""The student's workspace: my-work/ copied once and never overwritten, solutions/ hidden in JupyterLab."""
from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

import pytest

from labkit import cli, workspace
from labkit.check import _notebook_exercises
from labkit.grading import notebook
from labkit.procs import free_port, spawn, terminate, wait_until

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A checkout's exercises/ in a temporary root, with workspace.ROOT pointing at it."""
    shutil.copytree(EXERCISES, tmp_path / "exercises")
    monkeypatch.setattr(workspace, "ROOT", tmp_path)
    return tmp_path


def test_first_sync_copies_every_exercise_byte_for_byte(repo):
    copied = workspace.sync()
    names = sorted(p.name for p in EXERCISES.glob("ex*.ipynb"))
    assert [p.name for p in copied] == names and len(names) >= 12
    for name in names:
        assert (repo / "my-work" / name).read_bytes() == (EXERCISES / name).read_bytes()
    assert not (repo / "my-work" / ".release.json").exists()  # only the notebooks


def test_sync_never_overwrites_the_students_copy(repo):
    workspace.sync()
    mine = repo / "my-work" / "ex01-rest-client.ipynb"
    mine.write_text(mine.read_text().replace("YOUR CODE HERE", "my answer"))
    saved = mine.read_bytes()
    (repo / "exercises" / mine.name).write_text("{}")  # a new release of the starter
    assert workspace.sync() == []
    assert mine.read_bytes() == saved


def test_sync_keeps_a_deliberately_broken_or_linked_file(repo):
    (repo / "my-work").mkdir()
    (repo / "my-work" / "ex02-auth-errors.ipynb").write_text("not json: still the student's")
    (repo / "my-work" / "ex03-rest-server.ipynb").symlink_to(repo / "nowhere.ipynb")  # dangling: not followed
    copied = {p.name for p in workspace.sync()}
    assert "ex02-auth-errors.ipynb" not in copied and "ex03-rest-server.ipynb" not in copied
    assert (repo / "my-work" / "ex02-auth-errors.ipynb").read_text() == "not json: still the student's"
    assert not (repo / "nowhere.ipynb").exists()


def test_new_exercises_after_a_pull_are_added_and_the_others_kept(repo):
    workspace.sync()
    mine = repo / "my-work" / "ex04-webhook-receiver.ipynb"
    mine.write_text("my work")
    shutil.copy(EXERCISES / "ex01-rest-client.ipynb", repo / "exercises" / "ex13-new-topic.ipynb")
    assert [p.name for p in workspace.sync()] == ["ex13-new-topic.ipynb"]
    assert mine.read_text() == "my work"
    assert "ex13" in workspace.sync_message([repo / "my-work" / "ex13-new-topic.ipynb"])


def test_a_copy_is_checked_and_graded_as_the_same_exercise(repo, monkeypatch):
    workspace.sync()
    copy = repo / "my-work" / "ex04-webhook-receiver.ipynb"
    assert notebook.read(copy).metadata["labkit"]["exercise"] == "ex04"
    monkeypatch.setenv("JPY_SESSION_NAME", str(copy))  # what JupyterLab tells the kernel
    assert _notebook_exercises({}) == ["ex04"]
    assert notebook.exercise_ids(notebook.read(copy), copy) == ["ex04"]  # what `lab grade` reads


def test_lab_up_makes_the_copy_before_the_stack_starts(repo, monkeypatch, capsys):
    class Stack:
        home = repo / "home"

        def __init__(self, home=None):
            pass

        def up(self, timeout, progress):
            assert (repo / "my-work" / "ex01-rest-client.ipynb").exists()  # already there
            return []

    monkeypatch.setattr(cli, "Stack", Stack)
    assert cli.main(["up", "-q"]) == 0
    assert "Copied 12 new exercise notebook(s) into my-work/" in capsys.readouterr().err
    assert cli.main(["up", "-q"]) == 0
    assert "Your exercises are in my-work/" in capsys.readouterr().err


def test_solutions_are_hidden_unless_asked_for():
    assert "solutions" in workspace.hide_globs({})
    assert "solutions" not in workspace.hide_globs({"LAB_SHOW_SOLUTIONS": "1"})
    assert "__pycache__" in workspace.hide_globs({"LAB_SHOW_SOLUTIONS": "1"})


def test_the_start_command_and_binders_config_hide_solutions(monkeypatch):
    monkeypatch.delenv("LAB_SHOW_SOLUTIONS", raising=False)
    argv = cli.jupyter_command("/x/jupyter", "127.0.0.1", 8888, no_browser=True)
    assert f"--ContentsManager.hide_globs={workspace.hide_globs()!r}" in argv
    config = (ROOT / "labkit" / "jupyter" / "jupyter_server_config.py").read_text()
    assert "c.ContentsManager.hide_globs = hide_globs()" in config


def test_gitignore_keeps_student_and_grading_folders_out(tmp_path):
    import subprocess

    ignored = subprocess.run(["git", "check-ignore", "my-work/ex01.ipynb", "submissions/a.ipynb", "grades/x.csv"],
                             cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ignored == ["my-work/ex01.ipynb", "submissions/a.ipynb", "grades/x.csv"]


def contents(base: str, path: str = "") -> dict:
    with urllib.request.urlopen(f"{base}/api/contents/{path}?content=1", timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("show", ["", "1"])
def test_a_real_jupyter_server_lists_solutions_only_when_asked(tmp_path, monkeypatch, show):
    """The server `lab start` runs, with its hide_globs: solutions/ is not listed, yet opens by path."""
    monkeypatch.setenv("LAB_SHOW_SOLUTIONS", show)
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    port = free_port()
    # The same ContentsManager settings, in `jupyter server` (no JupyterLab front end to build: faster).
    argv = [a for a in cli.jupyter_command(jupyter, "127.0.0.1", port, no_browser=True) if not a.startswith("--LabApp")]
    argv[1] = "server"
    env = cli.jupyter_environment({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                   "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
                                   "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")})
    proc = spawn(argv + ["--IdentityProvider.token="], env=env, log_path=tmp_path / "server.log", cwd=ROOT)
    base = f"http://127.0.0.1:{port}"

    def listing():
        try:
            return contents(base)
        except OSError:
            return None

    try:
        assert wait_until(listing, timeout=60, while_alive=proc.pid), (tmp_path / "server.log").read_text()[-2000:]
        listed = {item["name"] for item in contents(base)["content"]}
        assert {"exercises", "notebooks", "labkit"} <= listed
        assert ("solutions" in listed) == bool(show)
        assert "__pycache__" not in {i["name"] for i in contents(base, "labkit")["content"]}
        solution = next((ROOT / "solutions").glob("ex01-*.ipynb")).name
        assert contents(base, f"solutions/{solution}")["type"] == "notebook"  # File → Open from Path… still works
    finally:
        terminate(proc.pid, timeout=15)
