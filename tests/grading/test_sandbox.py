"""The sandboxed child: calls, failures turned into data, restarts, and what it can and cannot reach.

Run inside a private PID namespace (``unshare --pid --fork --mount-proc``): some cases
forge the messages that once made the grader kill a process id of the child's choosing.
"""
from __future__ import annotations

import ast
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from labkit.grading import cgroup
from labkit.grading import sandbox as sandbox_module
from labkit.grading.jail import plan
from labkit.grading.endpoints import Endpoint
from labkit.grading.sandbox import Limits, SandboxStudent
from labkit.grading.student import StudentError
from labkit.procs import free_port

from .conftest import ROOT

CODE = '''
import os, socket, time

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
        with open(path) as f:
            return f.read(100)
    except OSError as exc:
        return type(exc).__name__

def try_list(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__

def try_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "written"
    except OSError as exc:
        return type(exc).__name__

def who():
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return {"uid": os.getuid(), "euid": os.geteuid(), "cap_eff": status["CapEff"].strip(),
            "cap_bnd": status["CapBnd"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
            "hostname": socket.gethostname(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}

def try_hostname(name):
    try:
        socket.sethostname(name)
        return "changed"
    except OSError as exc:
        return type(exc).__name__

class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")

def unprintable():
    raise Unprintable()
'''
LIMITS = Limits(step_timeout=3, timeout=40)


@pytest.fixture
def sandbox(tmp_path):
    secret = tmp_path / "other_submissions"
    secret.mkdir()
    (secret / "alice.ipynb").write_text("{}")
    with SandboxStudent([{"index": 1, "source": CODE}], services={}, limits=LIMITS, hide=[str(secret)]) as student:
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


def test_an_exception_whose_str_raises_is_an_exception_not_an_exit(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError) as info:
        student.call("unprintable")
    assert (info.value.kind, info.value.type, info.value.detail) == ("exception", "Unprintable", "<its str() failed>")
    assert student.status() == "ok" and student.starts == 1


def test_non_json_return_and_stub_and_missing_name_are_named(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError, match="повернула об'єкт типу object, а не дані JSON"):
        student.call("not_json")
    with pytest.raises(StudentError, match="ще не реалізовано"):
        student.call("stub")
    with pytest.raises(StudentError, match="`nothing` ще не означено"):
        student.call("nothing")


def test_endless_call_times_out_and_the_next_call_gets_a_fresh_process(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError) as info:
        student.call("spin")
    assert info.value.kind == "timeout"
    assert student.call("add", 1, 1) == 2
    assert student.status() == "timeout" and student.starts == 2


def test_a_sandbox_restarted_from_a_checks_thread_outlives_that_thread(sandbox):
    """lab grade runs each check in a thread of its own: a restart there must not die when the check ends."""
    student, _ = sandbox

    def in_a_thread(fn):
        box = {}
        worker = threading.Thread(target=lambda: box.update(value=fn()))
        worker.start()
        worker.join(30)
        return box.get("value")

    in_a_thread(lambda: pytest.raises(StudentError, student.call, "spin"))
    assert in_a_thread(lambda: student.call("add", 1, 1)) == 2  # the second start, in a thread that now ends
    time.sleep(0.5)
    assert student.call("add", 2, 2) == 4
    assert student.starts == 2 and student.status() == "timeout"


def test_os_exit_in_a_call_ends_only_the_child(sandbox):
    student, _ = sandbox
    with pytest.raises(StudentError) as info:
        student.call("leave")
    assert info.value.kind == "exited"
    assert student.call("add", 2, 2) == 4
    assert student.status() == "exited"
    assert any("exit code 7" in n for n in student.notes())


def test_top_level_errors_are_reported_per_cell_and_later_cells_still_run():
    cells = [{"index": 1, "source": "x = 1"}, {"index": 2, "source": "raise ValueError('bad')"},
             {"index": 3, "source": "def f():\n    return x + 1"}]
    with SandboxStudent(cells, services={}, limits=LIMITS) as student:
        assert student.call("f") == 2
        assert student.status() == "error"
        assert student.notes() == ["Cell 2 raised ValueError: bad."]


def course_imports() -> list[dict]:
    """Every import statement at the top level of a course solution's code cells, one cell each."""
    from labkit.grading import catalog, notebook

    from .conftest import solution_path

    found: dict[str, None] = {}
    for ex_id in catalog.course_exercises():
        for cell in notebook.code_cells(notebook.read(solution_path(ex_id))):
            for node in ast.parse(cell["source"]).body:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.setdefault(ast.unparse(node))
    return [{"index": i, "source": source} for i, source in enumerate(found, 1)]


def test_what_the_course_notebooks_import_loads_in_the_sandbox():
    """Only labkit is there, not the services around it (ex11's `from labkit.monitoring import check_rules` once
    pulled in labservices.inspector for a constant: every cell after it failed)."""
    cells = course_imports()
    assert any("labkit.monitoring" in c["source"] for c in cells)
    with SandboxStudent(cells, services={}, limits=LIMITS) as student:
        assert student.status() != "error", student.notes()


# --- who the student's code is: class 2 ---------------------------------------------------------


def test_student_code_runs_as_an_unprivileged_uid_without_capabilities_in_its_own_namespaces(sandbox):
    student, _ = sandbox
    me = student.call("who")
    assert me["uid"] == me["euid"] != 0
    assert me["cap_eff"] == me["cap_bnd"] == "0000000000000000" and me["no_new_privs"] == "1"
    assert me["hostname"] == "sandbox" and me["pids"] == [1]  # its own UTS and PID namespaces
    assert student.isolation.split("+") == ["namespaces", "own network", "new root", "read-only system",
                                            "unprivileged", "no capabilities", "cgroup"]


def test_system_secrets_and_kernel_settings_are_out_of_reach(sandbox):
    student, _ = sandbox
    assert student.call("try_read", "/etc/shadow") == "PermissionError"
    assert student.call("try_read", "/etc/passwd").startswith("root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:")
    assert student.call("try_write", "/proc/sys/kernel/core_pattern") == "OSError"  # read-only /proc/sys
    assert student.call("try_write", "/proc/sys/kernel/hostname") == "OSError"
    assert student.call("try_hostname", "pwned") == "PermissionError"
    assert open("/proc/sys/kernel/core_pattern").read() != "x"
    assert socket.gethostname() != "pwned"


def test_only_the_python_installation_and_labkit_are_there_read_only(sandbox, tmp_path):
    student, secret = sandbox
    listing = student.call("try_list", str(ROOT))
    assert "labkit" in listing and not {"solutions", "tests", "exercises", "notebooks", ".git"} & set(listing)
    assert student.call("try_list", str(ROOT / "solutions")) == "FileNotFoundError"
    assert student.call("try_list", str(secret)) == "FileNotFoundError"  # the hidden submissions folder
    assert student.call("try_list", str(tmp_path)) == "FileNotFoundError"  # the host's /tmp
    assert student.call("try_list", "/root") in ("FileNotFoundError", [".pyenv"])  # only the way to Python
    assert student.call("try_write", str(ROOT / "labkit" / "planted.py")) == "OSError"  # read-only
    assert student.call("try_write", "/usr/planted") == "OSError"
    assert student.call("try_write", "scratch.txt") == "written"  # its own home
    assert student.call("try_write", "/tmp/scratch.txt") == "written"
    assert not (ROOT / "labkit" / "planted.py").exists()
    assert (secret / "alice.ipynb").read_text() == "{}"


@pytest.fixture(params=["/var/tmp", "/tmp"])
def course_copy(request, monkeypatch):
    """labkit installed in a folder next to the course's solutions and an instructor's checks and gradebook,
    a root-only file beside it: another install layout than this checkout's (under /tmp too, which the
    sandbox has a private one of)."""
    base = Path(tempfile.mkdtemp(prefix="lab-layout-", dir=request.param))
    shutil.copytree(ROOT / "labkit", base / "labkit", ignore=shutil.ignore_patterns("__pycache__"))
    for folder, name in (("solutions", "ex03-rest-server.ipynb"), ("checks", "hidden.py"), ("grades", "gradebook.csv")):
        (base / folder).mkdir()
        (base / folder / name).write_text("the instructor's")
    secret = base / "labkit" / "root-only.txt"
    secret.write_text("root only")
    secret.chmod(0o600)
    monkeypatch.setattr(sandbox_module, "ROOT", base)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_another_install_layout_shows_labkit_alone_and_root_only_files_stay_closed(course_copy):
    code = CODE + "\nimport labkit\nLABKIT = labkit.__file__\n\ndef where():\n    return LABKIT\n"
    with SandboxStudent([{"index": 1, "source": code}], services={}, limits=LIMITS) as student:
        assert student.call("where") == str(course_copy / "labkit" / "__init__.py")
        assert student.call("try_list", str(course_copy)) == ["labkit"]
        for folder in ("solutions", "checks", "grades"):
            assert student.call("try_list", str(course_copy / folder)) == "FileNotFoundError"
        assert student.call("try_read", str(course_copy / "labkit" / "root-only.txt")) == "PermissionError"


def test_a_hidden_folder_inside_a_bound_one_is_empty_and_what_is_needed_below_it_is_bound_again():
    needed = ["/opt/py", "/opt/py/lib/site-packages", "/opt/py/subs/tools", "/usr/lib/python3"]
    assert plan(needed, ["/opt/py/subs"]) == [("bind", "/opt/py"), ("hide", "/opt/py/subs"),
                                              ("bind", "/opt/py/subs/tools")]
    assert plan(["/usr/lib/python3"], ["/srv/submissions"]) == []  # under /usr, which is bound anyway


# --- the network ----------------------------------------------------------------------------------


def test_sandbox_reaches_its_own_services_and_no_other_port():
    import http.server
    import socketserver

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
            assert student.call("fetch", theirs) == "URLError"  # connection refused: not in its network
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_an_endpoint_named_by_host_name_is_reached_under_that_name_and_only_there():
    """Under compose a broker is ``kafka:19092``: the sandbox's own /etc/hosts maps the name to its loopback."""
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
            assert student.call("get", "lab-test-broker", port) == "hello"
            assert student.call("get", "127.0.0.1", port) == "ConnectionRefusedError"
        assert "lab-test-broker" not in open("/etc/hosts").read()
    finally:
        upstream.close()


def test_the_app_is_served_where_the_grader_listens_whatever_the_code_claims():
    code = ("from fastapi import FastAPI\n"
            "import labkit.grading.appserver as appserver\n"
            "app = FastAPI()\n"
            "@app.get('/ping')\n"
            "def ping():\n"
            "    return {'pong': True}\n"
            "class Liar(appserver.AppServer):\n"
            "    def __init__(self, app, sock=None):\n"
            "        super().__init__(app, sock)\n"
            "        self.url = 'http://attacker.invalid:9'\n"
            "appserver.AppServer = Liar\n")
    with SandboxStudent([{"index": 1, "source": code}], services={}, limits=Limits(step_timeout=8)) as student:
        url = student.serve("app")
        assert url == student._app_url and url.startswith("http://127.0.0.1:")
        import requests

        assert requests.get(url + "/ping", timeout=5).json() == {"pong": True}


# --- the channel: class 1 -------------------------------------------------------------------------

FORGE = '''
import json, os, stat
def forge(lines):
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                for line in lines:
                    os.write(fd, line)
        except OSError:
            pass
'''


@pytest.mark.parametrize("lines", [
    [b'{"event": "pid", "pid": 1}\n', b'{"event": "pid", "pid": -1}\n'],
    [b'{"event": "exit", "code": "x", "signal": 99999}\n', b'{"event": "cell_done", "index": [1], "ok": "yes"}\n'],
    [b"[" * 100_000 + b"\n"],
    [b'{"id": null, "ok": true, "value": 1}\n'],
], ids=["pid", "odd-values", "deep", "unasked-reply"])
def test_forged_messages_stop_the_notebook_and_the_grader_acts_on_none_of_them(lines):
    """pid 1 is this test run itself (it runs as PID 1 of its own namespace): it must survive."""
    sentinel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        code = FORGE + f"\nforge({lines!r})\n\ndef f():\n    return 1\n"
        with SandboxStudent([{"index": 1, "source": code}], services={}, limits=LIMITS) as student:
            with pytest.raises(StudentError) as info:
                student.call("f")
            assert info.value.kind == "tampered"
            assert student.status() == "tampered"
            assert "something that is not a reply" in student.notes()[0]
        assert sentinel.poll() is None
    finally:
        sentinel.kill()
        sentinel.wait()


def test_an_endless_line_is_cut_at_the_limit_and_the_graders_memory_stays_small():
    code = FORGE + ("\nchunk = b'x' * 2**20\n"
                    "for fd in range(3, 256):\n"
                    "    try:\n"
                    "        if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
                    "            for _ in range(256):\n"
                    "                os.write(fd, chunk)\n"
                    "    except OSError:\n"
                    "        pass\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with SandboxStudent([{"index": 1, "source": code}], services={}, limits=LIMITS) as student:
        student.load()
        assert student.status() == "tampered"
        assert "a line of more than 4 MiB" in student.notes()[0]
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64, grown_mib


def test_a_killed_sandbox_leaves_no_process_and_no_cgroup():
    code = ("import subprocess, sys\n"
            "kids = [subprocess.Popen([sys.executable, '-c', 'import os, time; os.setsid(); time.sleep(60)'])"
            " for _ in range(3)]\n"
            "def f():\n    return [k.pid for k in kids]\n")
    ours = cgroup.PREFIX + cgroup.owner()
    student = SandboxStudent([{"index": 1, "source": code}], services={}, limits=LIMITS)
    try:
        student.call("f")
        dirs = list(student._cgroup.dirs)
        assert dirs and all(d.name.startswith(ours) for d in dirs)
    finally:
        student.close()
    assert not any(d.exists() for d in dirs)
    time.sleep(0.2)
    left = [p for p in os.listdir("/proc") if p.isdigit() and int(p) > os.getpid() and _is_sandbox(p)]
    assert left == [], [(open(f"/proc/{p}/cmdline").read(), open(f"/proc/{p}/status").read()[:300]) for p in left]


def _is_sandbox(pid: str) -> bool:
    try:
        return "labkit.grading.child" in open(f"/proc/{pid}/cmdline").read() or \
            int(open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[0]) >= sandbox_module.UID_BASE
    except (OSError, IndexError, ValueError):
        return False


def test_cgroups_left_by_a_killed_grader_are_removed_by_the_next(tmp_path):
    script = ("import os, signal\n"
              "from labkit.grading.cgroup import ControlGroup\n"
              "group = ControlGroup(pids=8, memory_bytes=2**28)\n"
              "print(' '.join(str(d) for d in group.dirs), flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    left = [Path(p) for p in done.stdout.split()]
    if not left:
        pytest.skip("no cgroups can be made here")
    assert all(p.exists() for p in left)
    cgroup._swept.clear()
    assert cgroup.sweep() >= len(left)
    assert not any(p.exists() for p in left)


USER_PROBE = '''
import sys
sys.path.insert(0, sys.argv[1])
from labkit.grading.sandbox import Limits, SandboxStudent

code = """
import os
def who():
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return [os.getuid(), status["CapEff"].strip()]
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__
"""
with SandboxStudent([{"index": 1, "source": code}], services={}, limits=Limits(step_timeout=5)) as student:
    print(student.isolation)
    print(student.call("who"))
    print(student.call("listing", sys.argv[1]), student.call("listing", sys.argv[1] + "/solutions"))
'''


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not os.access("/usr/bin/python3", os.X_OK),
                    reason="needs root (to become nobody), setpriv and a system Python")
def test_a_grader_run_as_a_user_builds_the_same_sandbox_in_a_user_namespace():
    """The grader as an ordinary user (here: nobody, with the system's Python): the sandbox is nobody in a
    user namespace of its own, with no capabilities and the same new root."""
    version = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version_info >= (3, 10))"],
                             capture_output=True, text=True).stdout.strip()
    if version != "True":
        pytest.skip("the system Python is older than 3.10")
    folder = Path(tempfile.mkdtemp(prefix="lab-user-probe-"))
    try:
        folder.chmod(0o755)
        (folder / "probe.py").write_text(USER_PROBE)
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                               str(folder / "probe.py"), str(ROOT)], capture_output=True, text=True, timeout=60,
                              cwd=folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if "user namespace" in done.stdout + done.stderr or "unshare" in done.stderr:
        pytest.skip(f"this kernel does not let a user make namespaces: {done.stderr[-200:]}")
    lines = done.stdout.splitlines()
    assert lines[0] == "namespaces+own network+new root+read-only system+unprivileged+no capabilities", done.stderr
    assert lines[1] == "[65534, '0000000000000000']"
    assert lines[2] == "['labkit'] FileNotFoundError"
