"""The sandboxed child: calls, failures turned into data, restarts, and what it cannot reach."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from labkit.grading import sandbox as sandbox_module
from labkit.grading.child import plan_keeps
from labkit.grading.sandbox import Limits, SandboxStudent
from labkit.grading.student import StudentError

from .conftest import ROOT

CODE = '''
import os, time

def add(a, b):
    return a + b

def boom():
    raise KeyError("price")

def not_json():
    return object()

def stub():
    raise NotImplementedError()

def spin():
    while True:
        pass

def leave():
    os._exit(7)

def try_read(path):
    try:
        return os.listdir(path)
    except OSError as exc:
        return type(exc).__name__

def try_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "written"
    except OSError as exc:
        return type(exc).__name__
'''


@pytest.fixture
def sandbox(tmp_path):
    secret = tmp_path / "other_submissions"
    secret.mkdir()
    (secret / "alice.ipynb").write_text("{}")
    student = SandboxStudent([{"index": 1, "source": CODE}], services={}, limits=Limits(step_timeout=2, timeout=30),
                             hide=[str(secret)])
    with student:
        yield student, secret


def test_calls_return_json_data(sandbox):
    student, _ = sandbox
    assert student.call("add", 2, 3) == 5
    assert student.call("add", [1], [2]) == [1, 2]


def test_student_exception_becomes_a_clear_error_not_a_traceback(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError) as info:
        student.call("boom")
    assert info.value.kind == "exception"
    assert str(info.value).startswith("`boom` кинула виняток KeyError: 'price'")


def test_non_json_return_and_stub_and_missing_name_are_named(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError, match="повернула об'єкт типу object, а не дані JSON"):
        student.call("not_json")
    with pytest.raises(StudentError, match="ще не реалізовано"):
        student.call("stub")
    with pytest.raises(StudentError, match="`nothing` не знайдено"):
        student.call("nothing")


def test_endless_call_times_out_and_the_next_call_gets_a_fresh_process(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError) as info:
        student.call("spin")
    assert info.value.kind == "timeout"
    assert student.call("add", 1, 1) == 2
    assert student.status() == "timeout" and student.starts == 2


def test_os_exit_in_a_call_ends_only_the_child(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError) as info:
        student.call("leave")
    assert info.value.kind == "exited"
    assert student.call("add", 2, 2) == 4
    assert student.status() == "exited"
    assert any("exit code 7" in n for n in student.notes())


def test_other_submissions_are_hidden_and_the_filesystem_is_read_only(sandbox, tmp_path):
    student, secret = sandbox
    if "namespaces" not in student.isolation:
        pytest.skip(f"this kernel does not allow mount namespaces (isolation: {student.isolation!r})")
    # Hidden behind an empty mount (or, under /tmp, not there at all: /tmp is the child's own).
    assert student.call("try_read", str(secret)) in ("PermissionError", "FileNotFoundError")
    planted = ROOT / "planted-by-sandbox-test.txt"
    assert student.call("try_write", str(planted)) == "OSError"  # read-only file system
    assert not planted.exists()
    assert student.call("try_write", "scratch.txt") == "written"  # its own work folder is writable
    assert (secret / "alice.ipynb").read_text() == "{}"


def test_top_level_errors_are_reported_per_cell_and_later_cells_still_run():
    cells = [{"index": 1, "source": "x = 1"}, {"index": 2, "source": "raise ValueError('bad')"},
             {"index": 3, "source": "def f():\n    return x + 1"}]
    with SandboxStudent(cells, services={}, limits=Limits(step_timeout=5)) as student:
        assert student.call("f") == 2
        assert student.status() == "error"
        assert student.notes() == ["Cell 2 raised ValueError: bad."]


def test_sandbox_reaches_its_own_services_and_no_other_port():
    import http.server
    import socketserver
    import threading

    from labkit.procs import free_port

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    servers = []
    for _ in range(2):  # "ours" is the submission's shop; "theirs" stands for another worker's
        server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), Hello)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    ours, theirs = (s.server_address[1] for s in servers)
    code = ("import urllib.request\n"
            "def fetch(port):\n"
            "    try:\n"
            "        return urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=3).read().decode()\n"
            "    except OSError as exc:\n"
            "        return type(exc).__name__\n")
    try:
        with SandboxStudent([{"index": 1, "source": code}], services={"shop": f"http://127.0.0.1:{ours}"},
                            limits=Limits(step_timeout=8)) as student:
            assert student.call("fetch", ours) == "hello"
            if "own network" not in student.isolation:
                pytest.skip(f"no network namespace here (isolation: {student.isolation!r})")
            assert student.call("fetch", theirs) == "URLError"  # connection refused: not in its network
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


KEPT_CODE = CODE + """
import kept_helper

def value():
    return kept_helper.VALUE

def tmp_listing():
    return sorted(os.listdir("/tmp"))
"""


@pytest.fixture
def library_in(monkeypatch):
    """A module in a fresh folder under ``parent``, on the child's ``sys.path`` (as a venv under /tmp would be)."""
    made = []

    def make(parent: str) -> Path:
        if not os.access(parent, os.W_OK):
            pytest.skip(f"{parent} is not writable here")
        base = Path(tempfile.mkdtemp(prefix="lab-keep-", dir=parent))
        made.append(base)
        lib = base / "lib"
        lib.mkdir()
        (lib / "kept_helper.py").write_text("VALUE = 42\n")
        (lib / "hidden").mkdir()
        (lib / "hidden" / "answers.txt").write_text("secret")
        (base / "other").mkdir()
        env = sandbox_module.sandbox_env
        monkeypatch.setattr(sandbox_module, "sandbox_env", lambda services, workdir: {
            **env(services, workdir), "PYTHONPATH": f"{ROOT}{os.pathsep}{lib}"})
        return base

    yield make
    for base in made:
        shutil.rmtree(base, ignore_errors=True)


def _first_under_tmp(path) -> set[str]:
    names = set()
    for form in (os.path.normpath(str(path)), os.path.realpath(str(path))):
        if form.startswith("/tmp/"):
            names.add(form.split("/")[2])
    return names


def test_keep_plan_binds_the_outermost_needed_folders_and_again_below_a_hidden_one():
    needed = ["/tmp", "/tmp/clone/.venv/lib", "/tmp/clone", "/tmp/clone/subs/tools", "/usr/lib/python3"]
    covered = ["/tmp", "/tmp/clone/subs"]
    assert plan_keeps(needed, covered, ["/tmp/clone/subs"]) == ["/tmp/clone", "/tmp/clone/subs/tools"]
    assert plan_keeps(["/usr/lib/python3"], ["/tmp"], []) == []  # nothing under /tmp: nothing to do


def test_what_the_child_needs_under_tmp_is_kept_read_only_and_the_rest_of_tmp_stays_private(library_in):
    base = library_in("/tmp")
    lib, hidden = base / "lib", base / "lib" / "hidden"
    marker = base.with_name(base.name + "-not-for-the-sandbox")
    marker.write_text("x")
    scratch = f"/tmp/{base.name}-scratch"
    try:
        with SandboxStudent([{"index": 1, "source": KEPT_CODE}], services={},
                            limits=Limits(step_timeout=5, timeout=30), hide=[str(hidden)]) as student:
            if "namespaces" not in student.isolation:
                pytest.skip(f"this kernel does not allow mount namespaces (isolation: {student.isolation!r})")
            assert student.call("value") == 42  # the folder on its sys.path is still there
            assert student.status() == "ok", student.notes()
            # Its /tmp holds only what it needs (this folder, Python, the lab) and its work folder.
            allowed = {base.name, Path(student._workdir).name}
            for needed in (ROOT, sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)):
                allowed |= _first_under_tmp(needed)
            listing = student.call("tmp_listing")
            assert marker.name not in listing
            assert set(listing) <= allowed, set(listing) - allowed
            assert student.call("try_read", str(base)) == ["lib"]
            assert student.call("try_read", str(base / "other")) == "FileNotFoundError"
            # A hidden folder inside a kept one stays hidden.
            assert student.call("try_read", str(hidden)) in ("PermissionError", [])
            # Kept means read-only; the rest of /tmp is its own to write.
            assert student.call("try_write", str(lib / "planted.py")) == "OSError"
            assert student.call("try_write", scratch) == "written"
        assert not (lib / "planted.py").exists()
        assert not os.path.exists(scratch)
        assert (hidden / "answers.txt").read_text() == "secret"
    finally:
        marker.unlink()


def test_what_the_child_needs_inside_a_hidden_folder_is_kept_and_nothing_else_there(library_in):
    base = library_in("/var/tmp")
    lib = base / "lib"
    with SandboxStudent([{"index": 1, "source": KEPT_CODE}], services={},
                        limits=Limits(step_timeout=5, timeout=30), hide=[str(base)]) as student:
        if "namespaces" not in student.isolation:
            pytest.skip(f"this kernel does not allow mount namespaces (isolation: {student.isolation!r})")
        assert student.call("value") == 42
        assert student.call("try_read", str(base)) == "PermissionError"
        assert student.call("try_read", str(base / "other")) in ("PermissionError", "FileNotFoundError")
        assert "kept_helper.py" in student.call("try_read", str(lib))
        assert student.call("try_write", str(lib / "planted.py")) == "OSError"
    assert not (lib / "planted.py").exists()


def test_an_endpoint_named_by_host_name_is_reached_under_that_name_and_only_there():
    """Under compose a broker is ``kafka:19092``: the sandbox's own /etc/hosts maps the name to its loopback."""
    import socket
    import threading

    from labkit.grading.sandbox import Endpoint
    from labkit.procs import free_port

    upstream = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: [c.sendall(b"hello") or c.close() for c, _ in iter(upstream.accept, None)],
                     daemon=True).start()
    code = ("import socket\n"
            "def get(host, port):\n"
            "    try:\n"
            "        with socket.create_connection((host, port), timeout=3) as s:\n"
            "            return s.recv(16).decode()\n"
            "    except OSError as exc:\n"
            "        return type(exc).__name__\n")
    port = free_port()
    endpoint = Endpoint("broker", "lab-test-broker", port, upstream.getsockname())
    try:
        with SandboxStudent([{"index": 1, "source": code}], services={}, endpoints=[endpoint],
                            limits=Limits(step_timeout=8)) as student:
            if "own network" not in student.isolation:
                pytest.skip(f"no network namespace here (isolation: {student.isolation!r})")
            assert student.call("get", "lab-test-broker", port) == "hello"
            assert student.call("get", "127.0.0.1", port) == "ConnectionRefusedError"
        assert "lab-test-broker" not in open("/etc/hosts").read()
    finally:
        upstream.close()
