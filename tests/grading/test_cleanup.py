"""A mixed class of 30, graded by `lab grade -j 2` as an instructor runs it, leaves the machine as it found it.

No process, no cgroup, no file outside --out (the grader's temporary folders all live in a
TMPDIR of the test's own, which must end empty), no virtual host, user, topic or group on
the brokers. A grader killed mid-batch leaves its cgroups to the next one, which removes
them. Run inside a private PID namespace (hostile submissions are in the class).
"""
from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from kafka import KafkaAdminClient

from labkit.grading import cgroup, sandbox
from labkit.grading.brokers import PREFIX

from .conftest import hostile_cases, hostile_notebook, partial_notebook, solution_path, starter_path

CLASS = {  # student -> (exercise, how)
    **{f"ex03_good_{n}": ("ex03", "solution") for n in range(4)},
    **{f"ex03_starter_{n}": ("ex03", "starter") for n in range(2)},
    "ex03_partial": ("ex03", "partial"),
    **{f"ex01_good_{n}": ("ex01", "solution") for n in range(3)},
    "ex01_starter": ("ex01", "starter"),
    **{f"ex02_good_{n}": ("ex02", "solution") for n in range(2)},
    **{f"ex04_good_{n}": ("ex04", "solution") for n in range(2)},
    "ex05_good": ("ex05", "solution"),
    **{f"ex08_good_{n}": ("ex08", "solution") for n in range(3)},
    "ex08_starter": ("ex08", "starter"),
    **{f"ex09_good_{n}": ("ex09", "solution") for n in range(3)},
}
HOSTILE = ("fork_bomb", "infinite_loop", "forged_pid", "memory_hog", "endless_line", "os_exit", "segfault")
FULL = {"ex01": 14, "ex02": 16, "ex03": 17, "ex04": 17, "ex05": 12, "ex08": 18, "ex09": 13}


def lab_command(*args: str) -> list[str]:
    """The `lab` command as an instructor runs it, in a process of its own."""
    return [sys.executable, "-m", "labkit.cli", *args]


def processes() -> dict[int, str]:
    """Every process of this PID namespace but this one, with its command line (a zombie: its name and uid).

    A zombie is left for PID 1 to reap, and in this namespace that is the test run itself,
    which does not: RabbitMQ's short-lived helpers (``inet_gethost``) end up here while the
    batch runs. A zombie of the batch's would be a Python process or one of a sandbox's uid.
    """
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                status = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                              if ":" in line)
                cmdline = Path(f"/proc/{entry}/cmdline").read_text().replace("\0", " ").strip()
            except OSError:
                continue
            name, uid = status["Name"].strip(), int(status["Uid"].split()[0])
            if cmdline or name.startswith("python") or uid >= sandbox.UID_BASE:
                found[int(entry)] = cmdline or f"<zombie {name}, uid {uid}>"
    return found


def cgroups() -> list[str]:
    """This test run's cgroups (its PID namespace's: other runs on the machine make and remove their own)."""
    ours = f"{cgroup.PREFIX}{cgroup.owner().partition('-')[0]}-"
    return sorted(str(folder) for _, parent in cgroup._parents() if parent.is_dir()
                  for folder in parent.iterdir() if folder.name.startswith(ours))


def broker_names() -> dict:
    management = os.environ["LAB_RABBITMQ_MANAGEMENT_URL"]
    state = {kind: sorted(v["name"] for v in requests.get(f"{management}/api/{kind}", auth=("guest", "guest"),
                                                          timeout=10).json())
             for kind in ("vhosts", "users")}
    admin = KafkaAdminClient(bootstrap_servers=os.environ["LAB_KAFKA_BOOTSTRAP"])
    try:
        state["topics"] = sorted(t for t in admin.list_topics() if not t.startswith("__"))  # Kafka's own, made lazily
        state["groups"] = sorted(g[0] if isinstance(g, tuple) else g.get("group_id") for g in admin.list_groups())
    finally:
        admin.close()
    return state


def make_class(subs: Path) -> None:
    for student, (ex_id, how) in CLASS.items():
        target = subs / f"{student}.ipynb"
        if how == "partial":
            partial_notebook(target)
        else:
            shutil.copy(solution_path(ex_id) if how == "solution" else starter_path(ex_id), target)
    for case in hostile_cases():
        if case.name in HOSTILE:
            hostile_notebook(case, subs / f"hostile_{case.name}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, lab_brokers):
    base = tmp_path_factory.mktemp("cleanup")
    subs, out, tmp = base / "subs", base / "out", base / "tmp"
    for folder in (subs, tmp):
        folder.mkdir()
    make_class(subs)
    assert len(list(subs.iterdir())) == 30
    before = {"processes": processes(), "cgroups": cgroups(), "brokers": broker_names()}
    started = time.monotonic()
    done = subprocess.run(lab_command("grade", str(subs), "--out", str(out), "-j", "2", "--timeout", "90",
                                      "--step-timeout", "8", "-q"),
                          env={**os.environ, "TMPDIR": str(tmp)}, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - started
    time.sleep(1)  # a killed sandbox's last processes leaving
    after = {"processes": processes(), "cgroups": cgroups(), "brokers": broker_names()}
    return done, out, tmp, before, after, took


def test_the_class_is_graded(graded):
    done, out, _, _, _, took = graded
    assert done.returncode == 0, done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert len(rows) == 30
    for student, (ex_id, how) in CLASS.items():
        wanted = {"solution": FULL[ex_id], "starter": 0, "partial": 13}[how]
        # One exercise each, so the others are "missing"; nothing worse, but for ex08's starter, whose demo
        # cells fail on a broker without the queues its stubs never declared.
        status = "error" if student == "ex08_starter" else "missing"
        assert (int(rows[student]["total"]), rows[student]["status"]) == (wanted, status), (student, rows[student]["notes"])
    for name in HOSTILE:
        assert rows[f"hostile_{name}"]["status"] not in ("ok", "missing"), rows[f"hostile_{name}"]
    print(f"30 mixed submissions graded with -j 2 in {took:.0f} s")


def test_no_process_is_left(graded):
    _, _, _, before, after, _ = graded
    assert {pid: cmd for pid, cmd in after["processes"].items() if pid not in before["processes"]} == {}


def test_no_cgroup_is_left(graded):
    _, _, _, before, after, _ = graded
    assert after["cgroups"] == before["cgroups"]


def test_no_file_is_left_outside_out(graded):
    _, out, tmp, _, _, _ = graded
    assert sorted(p.name for p in tmp.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["feedback", "gradebook.csv", "gradebook.json"]


def test_the_brokers_hold_nothing_of_the_batch(graded):
    _, _, _, before, after, _ = graded
    assert after["brokers"] == before["brokers"]
    assert not [t for t in after["brokers"]["topics"] if t.startswith(PREFIX)]


def test_a_killed_grader_leaves_its_cgroups_to_the_next_which_removes_them(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    subs.mkdir()
    for n in range(2):
        hostile_notebook(next(c for c in hostile_cases() if c.name == "infinite_loop"), subs / f"loop{n}.ipynb")
    grader = subprocess.Popen(lab_command("grade", str(subs), "--out", str(tmp_path / "out"), "-j", "2",
                                          "--step-timeout", "30", "-q"),
                              env={**os.environ, "TMPDIR": str(tmp_path)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(cgroups()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    left = cgroups()
    if not left:
        grader.kill()
        pytest.skip("no cgroups can be made here")
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    time.sleep(1)  # the sandboxes die with it (a parent-death signal on each)
    assert not [cmd for cmd in processes().values() if "labkit.grading.child" in cmd]
    assert all(Path(p).exists() for p in left)  # nobody removed them
    cgroup._swept.clear()
    cgroup.sweep()
    assert not [p for p in left if Path(p).exists()]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # its sandboxes' (empty) work folders, in its TMPDIR
    assert list(tmp_path.glob("lab-grade-*"))
    sandbox.sweep_workdirs()
    assert not list(tmp_path.glob("lab-grade-*"))
