"""`lab up | down | status | reset | logs | stop | start | isolate | kill | chaos`, on real processes.

The stack runs the tests' toy service (tests/toyservice: a package and one declaration) and
the real inspector in one host process, as `lab up` runs the lab's own services.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest
import requests

from labkit import cli, components
from labkit.procs import alive, free_port, wait_until
from labkit.stack import Stack, StackError
from tests.conftest import TOY_ENV


@pytest.fixture
def toy_env(monkeypatch):
    for name, value in TOY_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LAB_TOY_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LAB_INSPECTOR_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LAB_HOST_URL", f"http://127.0.0.1:{free_port()}")


def services_stack(home, *names: str) -> Stack:
    specs = [c for c in components.components() if c.kind == "service" and c.name in names]
    return Stack(home=home, components=[components.HostSpec(specs), *specs])


@pytest.fixture
def toy_stack(tmp_path, toy_env):
    stack = services_stack(tmp_path / "home", "toy")
    yield stack
    stack.down()


@pytest.fixture
def two_stack(tmp_path, toy_env):
    stack = services_stack(tmp_path / "home", "toy", "inspector")
    yield stack
    stack.down()


def toy_url() -> str:
    return os.environ["LAB_TOY_URL"]


def by_name(statuses, name):
    return next(s for s in statuses if s.name == name)


def refused(url: str) -> bool:
    try:
        requests.get(url + "/health", timeout=1)
    except requests.ConnectionError:
        return True
    return False


def test_up_starts_the_host_with_the_service_and_records_it(toy_stack):
    statuses = toy_stack.up()
    host, toy = by_name(statuses, "host"), by_name(statuses, "toy")
    assert host.health == "healthy" and host.managed and host.pid and host.pss_mb and host.pss_mb > 5
    assert toy.health == "healthy" and toy.state == "running" and toy.pid == host.pid
    state = json.loads(toy_stack.state_file.read_text())["components"]
    assert state["host"]["pid"] == host.pid and "toy" not in state  # one process, recorded once
    assert requests.get(toy_url() + "/health").json()["service"] == "toy"


def test_up_is_idempotent(toy_stack):
    first = by_name(toy_stack.up(), "host")
    second = by_name(toy_stack.up(), "host")
    assert first.pid == second.pid


def test_up_recovers_from_a_crash_of_the_host(toy_stack):
    first = by_name(toy_stack.up(), "host")
    os.kill(first.pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(first.pid), timeout=5)  # the crash has happened
    toy_stack.up()  # must not trust the stale pid
    again = by_name(toy_stack.status(), "toy")
    assert again.health == "healthy" and again.pid != first.pid


def test_down_stops_exactly_what_up_started(toy_stack):
    host = by_name(toy_stack.up(), "host")
    assert toy_stack.down() == ["host"]
    assert not alive(host.pid)
    assert by_name(toy_stack.status(), "toy").health == "stopped"
    assert toy_stack.down() == []


def test_down_leaves_a_reused_pid_alone(toy_stack):
    toy_stack.up()
    state = json.loads(toy_stack.state_file.read_text())
    real = state["components"]["host"]
    # Pretend the recorded process is gone and its pid now belongs to this test process.
    state["components"]["host"] = {**real, "pid": os.getpid()}
    toy_stack.state_file.write_text(json.dumps(state))
    assert toy_stack.down() == []
    assert alive(os.getpid())
    os.kill(real["pid"], signal.SIGTERM)


def test_up_refuses_a_service_port_taken_by_another_program(toy_stack):
    port = int(toy_url().rsplit(":", 1)[1])
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(StackError, match="toy: port .* is taken by another program.*LAB_TOY_URL"):
            toy_stack.up()


def test_a_service_that_fails_at_start_up_is_named_with_its_reason_and_the_others_run(two_stack, monkeypatch):
    monkeypatch.setenv("TOY_FAIL_START", "true")
    with pytest.raises(StackError, match="toy failed to start: could not build the app: RuntimeError: toy was told"):
        two_stack.up(timeout=30)
    statuses = two_stack.status()
    assert by_name(statuses, "toy").state == "failed"
    assert by_name(statuses, "inspector").health == "healthy"


def test_external_component_is_checked_not_started(toy_stack, monkeypatch):
    monkeypatch.setenv("LAB_TOY_URL", "http://localhost.localdomain:1")
    # localhost.localdomain is not a loopback *name* we start things on: the stack only checks it.
    toy = by_name(toy_stack.components, "toy")
    assert toy.external
    status = by_name(toy_stack.status(), "toy")
    assert status.managed is False and status.pid is None and status.health == "unhealthy"


def test_reset_restores_seed_data(toy_stack):
    toy_stack.up()
    requests.post(toy_url() + "/api/notes", json={"text": "нова", "age": 20})
    assert toy_stack.reset() == ["toy"]
    assert len(requests.get(toy_url() + "/api/notes").json()) == 1


def test_reset_on_a_stopped_stack_says_to_start_it(toy_stack):
    with pytest.raises(StackError, match="lab up"):
        toy_stack.reset()


def test_each_service_logs_to_its_own_file(two_stack):
    two_stack.up()
    requests.get(toy_url() + "/api/notes", headers={"X-Request-ID": "logs-test"})
    # The access line is written just after the response is sent: wait for it to land.
    assert wait_until(lambda: '"request_id": "logs-test"' in two_stack.tail("toy", 200), timeout=5)
    lines = [json.loads(line) for line in two_stack.tail("toy", 500).splitlines() if line.startswith("{")]
    assert lines and {line["service"] for line in lines} == {"toy"}
    assert "logs-test" not in two_stack.tail("inspector", 500)


def test_stopping_one_service_refuses_its_connections_while_the_other_answers(two_stack):
    two_stack.up()
    inspector = os.environ["LAB_INSPECTOR_URL"]
    started = time.monotonic()
    two_stack.stop("toy")
    assert wait_until(lambda: refused(toy_url()), timeout=1.0)
    assert time.monotonic() - started < 3
    assert requests.get(inspector + "/health").status_code == 200
    toy = by_name(two_stack.status(), "toy")
    assert (toy.state, toy.health) == ("stopped", "stopped")
    assert two_stack.start("toy").health == "healthy"


def test_up_starts_a_service_a_student_stopped(toy_stack):
    toy_stack.up()
    toy_stack.stop("toy")
    assert by_name(toy_stack.up(), "toy").health == "healthy"


def test_restart_gives_a_fresh_app_and_keeps_the_data(toy_stack):
    toy_stack.up()
    requests.post(toy_url() + "/api/notes", json={"text": "лишиться", "age": 20})
    requests.put(toy_url() + "/admin/chaos", json={"latency_ms": 50})  # in memory: gone after a restart
    status = toy_stack.restart("toy")
    assert status.health == "healthy"
    assert requests.get(toy_url() + "/admin/chaos").json()["latency_ms"] == 0
    assert "лишиться" in [n["text"] for n in requests.get(toy_url() + "/api/notes").json()]


def test_isolated_service_can_be_killed_frozen_and_is_restarted(toy_stack):
    host = by_name(toy_stack.up(), "host")
    isolated = toy_stack.isolate("toy")
    assert isolated["mode"] == "isolated" and isolated["pid"] != host.pid
    status = by_name(toy_stack.status(), "toy")
    assert status.state == "isolated" and status.pid == isolated["pid"] and status.pss_mb
    toy_stack.signal("toy", "KILL")
    assert wait_until(lambda: refused(toy_url()), timeout=2)

    def back_in_its_own_process() -> bool:  # it answers /health a moment before the host calls it isolated again
        now = by_name(toy_stack.status(), "toy")
        return now.health == "healthy" and now.state == "isolated"

    assert wait_until(back_in_its_own_process, timeout=15)
    again = by_name(toy_stack.status(), "toy")
    assert again.pid != isolated["pid"]
    assert toy_stack.signal("toy", "STOP")["state"] == "frozen"
    with pytest.raises(requests.Timeout):
        requests.get(toy_url() + "/health", timeout=0.5)
    toy_stack.signal("toy", "CONT")
    assert requests.get(toy_url() + "/health", timeout=5).status_code == 200
    back = toy_stack.join("toy")
    assert back["mode"] == "host" and by_name(toy_stack.status(), "toy").pid == host.pid


def test_a_signal_to_a_service_in_the_shared_process_is_refused_with_what_to_do(toy_stack):
    toy_stack.up()
    with pytest.raises(StackError, match="lab isolate toy"):
        toy_stack.signal("toy", "KILL")
    assert by_name(toy_stack.status(), "toy").health == "healthy"


def test_chaos_slows_and_breaks_one_service_and_switches_off(toy_stack):
    toy_stack.up()
    assert toy_stack.chaos("toy", down=True)["down"] is True
    assert requests.get(toy_url() + "/api/notes").status_code == 503
    with pytest.raises(StackError, match="error_rate"):
        toy_stack.chaos("toy", error_rate=7)
    assert toy_stack.chaos("toy")["down"] is False
    assert requests.get(toy_url() + "/api/notes").status_code == 200


def test_a_crashed_worker_is_restarted_and_counted(toy_stack):
    toy_stack.up()
    assert wait_until(lambda: 'lab_worker_restarts_total{worker="flaky_worker"} 1.0'
                      in requests.get(toy_url() + "/metrics").text, timeout=5)


def test_the_host_names_the_service_and_line_that_blocked_the_loop(toy_stack):
    toy_stack.up()
    assert requests.get(toy_url() + "/api/block", params={"ms": 600}).status_code == 200

    def report() -> dict:
        return requests.get(os.environ["LAB_HOST_URL"] + "/loop").json()

    # The watchdog writes the block down once the loop is back, in its own thread: not always before we ask.
    assert wait_until(lambda: report()["blocked"] >= 1, timeout=5), report()
    loop = report()
    block = loop["blocks"][-1]
    assert block["service"] == "toy" and "toyservice/main.py" in block["where"] and "in block" in block["where"]
    assert block["duration_ms"] >= 400


def test_cli_status_json_gives_each_url_and_state(toy_stack, capsys, monkeypatch):
    monkeypatch.setattr(cli, "Stack", lambda home=None: toy_stack)
    assert cli.main(["up", "-q"]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    toy = by_name([type("S", (), c) for c in out["components"]], "toy")
    assert toy.url == toy_url() and toy.health == "healthy" and toy.state == "running"


def test_cli_status_table_shows_states_and_the_hosts_memory(toy_stack, capsys, monkeypatch):
    monkeypatch.setattr(cli, "Stack", lambda home=None: toy_stack)
    assert cli.main(["status", "--check"]) == 1
    assert "· stopped" in capsys.readouterr().out
    cli.main(["up", "-q"])
    capsys.readouterr()
    assert cli.main(["status", "--check"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["SERVICE", "URL", "STATE", "HEALTH", "PID", "MEMORY", "(PSS)", "NOTE"]
    assert "✓ healthy" in table and " MB" in table and "share" in table
    assert cli.main(["stop", "toy"]) == 0 and "toy: stopped" in capsys.readouterr().out
    cli.main(["status"])
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith("toy")][0].split()[2] == "stopped"
    assert cli.main(["start", "toy"]) == 0


def test_cli_kill_of_a_service_in_the_host_says_to_isolate_it(toy_stack, capsys, monkeypatch):
    monkeypatch.setattr(cli, "Stack", lambda home=None: toy_stack)
    cli.main(["up", "-q"])
    assert cli.main(["kill", "toy"]) == 1
    assert "lab isolate toy" in capsys.readouterr().err


def test_start_opens_jupyterlab_on_notebook_00_at_the_repository_root():
    argv = cli.jupyter_command("/x/jupyter", "127.0.0.1", 8888, no_browser=True)
    assert argv[:2] == ["/x/jupyter", "lab"]
    assert f"--ServerApp.root_dir={cli.ROOT}" in argv and "--no-browser" in argv
    assert "--LabApp.default_url=/lab/tree/notebooks/00-start-here.ipynb" in argv
    assert ("--allow-root" in argv) == (os.geteuid() == 0)
