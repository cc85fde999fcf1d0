"""The sandboxed child: calls, failures turned into data, restarts, and what it cannot reach."""
from __future__ import annotations

import pytest

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
