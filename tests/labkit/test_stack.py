"""`lab up | down | status | reset | logs`, on real processes (a tiny service built like the lab's)."""
from __future__ import annotations

import json
import os
import signal
import socket

import pytest
import requests

from labkit import cli
from labkit.components import ServiceSpec
from labkit.procs import alive, free_port, wait_until
from labkit.stack import Stack, StackError
from tests.conftest import TOY



@pytest.fixture
def toy_stack(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_TOY_URL", f"http://127.0.0.1:{free_port()}")
    stack = Stack(home=tmp_path / "home", components=[TOY])
    yield stack
    stack.down()


def test_up_starts_the_service_and_records_it(toy_stack):
    [status] = toy_stack.up()
    assert status.health == "healthy" and status.managed and status.pid
    state = json.loads(toy_stack.state_file.read_text())["components"]["toy"]
    assert state["pid"] == status.pid and state["url"] == TOY.address
    assert requests.get(TOY.address + "/health").json()["service"] == "toy"
    assert status.rss_mb and status.rss_mb > 5


def test_up_is_idempotent(toy_stack):
    [first] = toy_stack.up()
    [second] = toy_stack.up()
    assert first.pid == second.pid


def test_up_recovers_from_a_crash(toy_stack):
    [first] = toy_stack.up()
    os.kill(first.pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(first.pid), timeout=5)  # the crash has happened
    toy_stack.up()  # must not trust the stale pid
    [again] = toy_stack.status()
    assert again.health == "healthy" and again.pid != first.pid


def test_down_stops_exactly_what_up_started(toy_stack):
    [status] = toy_stack.up()
    assert toy_stack.down() == ["toy"]
    assert not alive(status.pid)
    assert toy_stack.status()[0].health == "stopped"
    assert toy_stack.down() == []


def test_down_leaves_a_reused_pid_alone(toy_stack):
    toy_stack.up()
    state = json.loads(toy_stack.state_file.read_text())
    real = state["components"]["toy"]
    # Pretend the recorded process is gone and its pid now belongs to this test process.
    state["components"]["toy"] = {**real, "pid": os.getpid()}
    toy_stack.state_file.write_text(json.dumps(state))
    assert toy_stack.down() == []
    assert alive(os.getpid())
    os.kill(real["pid"], signal.SIGTERM)


def test_up_refuses_a_port_taken_by_another_program(toy_stack):
    port = int(TOY.address.rsplit(":", 1)[1])
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(StackError, match="port .* is taken by another program"):
            toy_stack.up()


def test_a_service_that_dies_at_start_reports_its_log(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_BROKEN_URL", f"http://127.0.0.1:{free_port()}")
    broken = ServiceSpec(name="broken", app="tests.common.no_such_module:app", env_prefix="B_", teaches="")
    stack = Stack(home=tmp_path, components=[broken])
    with pytest.raises(StackError, match="broken exited during start-up(.|\n)*Could not import module"):
        stack.up(timeout=20)
    stack.down()


def test_external_component_is_checked_not_started(toy_stack, monkeypatch, toy_url):
    monkeypatch.setenv("LAB_TOY_URL", toy_url.replace("127.0.0.1", "localhost.localdomain"))
    stack = Stack(home=toy_stack.home, components=[TOY])
    # localhost.localdomain is not a loopback *name* we start things on: the stack only checks it.
    assert TOY.external
    [status] = stack.status()
    assert status.managed is False and status.pid is None


def test_reset_restores_seed_data(toy_stack):
    toy_stack.up()
    requests.post(TOY.address + "/api/notes", json={"text": "нова", "age": 20})
    assert toy_stack.reset() == ["toy"]
    assert len(requests.get(TOY.address + "/api/notes").json()) == 1


def test_reset_on_a_stopped_stack_says_to_start_it(toy_stack):
    with pytest.raises(StackError, match="lab up"):
        toy_stack.reset()


def test_logs_hold_the_service_output(toy_stack):
    toy_stack.up()
    requests.get(TOY.address + "/api/notes", headers={"X-Request-ID": "logs-test"})
    # The access line is written just after the response is sent: wait for it to land.
    assert wait_until(lambda: '"request_id": "logs-test"' in toy_stack.tail("toy", 200), timeout=5)


def test_cli_status_json_gives_each_url(toy_stack, capsys, monkeypatch):
    monkeypatch.setattr(cli, "Stack", lambda home=None: toy_stack)
    assert cli.main(["up", "-q"]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    [comp] = out["components"]
    assert comp["name"] == "toy" and comp["url"] == TOY.address and comp["health"] == "healthy"


def test_cli_status_table_and_check_exit_code(toy_stack, capsys, monkeypatch):
    monkeypatch.setattr(cli, "Stack", lambda home=None: toy_stack)
    assert cli.main(["status", "--check"]) == 1
    assert "· stopped" in capsys.readouterr().out
    cli.main(["up", "-q"])
    capsys.readouterr()
    assert cli.main(["status", "--check"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["SERVICE", "URL", "HEALTH", "PID", "MEMORY", "NOTE"]
    assert "✓ healthy" in table and " MB" in table


def test_start_opens_jupyterlab_on_notebook_00_at_the_repository_root():
    argv = cli.jupyter_command("/x/jupyter", "127.0.0.1", 8888, no_browser=True)
    assert argv[:2] == ["/x/jupyter", "lab"]
    assert f"--ServerApp.root_dir={cli.ROOT}" in argv and "--no-browser" in argv
    assert "--ServerApp.default_url=/lab/tree/notebooks/00-start-here.ipynb" in argv
    assert ("--allow-root" in argv) == (os.geteuid() == 0)
