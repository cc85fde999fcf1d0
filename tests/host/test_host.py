"""The host in-process: a crash is restarted, a bad start is reported, the control API says why it refuses."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from labkit.procs import free_port
from labservices.host.host import Host, HostError
from tests.conftest import TOY_ENV


@pytest.fixture
def toy_env(monkeypatch, tmp_path):
    for name, value in TOY_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    monkeypatch.setenv("LAB_TOY_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LAB_INSPECTOR_URL", f"http://127.0.0.1:{free_port()}")
    return tmp_path


async def healthy(url: str) -> bool:
    async with httpx.AsyncClient() as client:
        try:
            return (await client.get(url + "/health")).status_code == 200
        except httpx.HTTPError:
            return False


async def until(check, timeout: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


def test_a_service_that_stops_serving_by_itself_is_started_again(toy_env):
    async def scenario():
        host = Host(logs_dir=toy_env / "logs")
        await host.start_all(["toy"])
        runner = host.runners["toy"]
        url = runner.instance.url
        try:
            assert await healthy(url)
            runner.server.request_exit()  # the server ends without anyone asking the host: a crash
            assert await until(lambda: asyncio.sleep(0, runner.state == "failed"), timeout=5)

            async def running() -> bool:  # it answers /health a moment before its runner says "running"
                return await healthy(url) and runner.state == "running"

            assert await until(running, timeout=10)
            return runner.restarts, runner.state
        finally:
            await host.shutdown()

    assert asyncio.run(scenario()) == (1, "running")


def test_a_service_that_cannot_start_is_failed_with_its_reason_and_the_host_runs_on(toy_env, monkeypatch):
    monkeypatch.setenv("TOY_FAIL_START", "1")

    async def scenario():
        host = Host(logs_dir=toy_env / "logs")
        started = await host.start_all(["toy", "inspector"])
        try:
            states = {s["name"]: s for s in host.describe()}
            return started, states["toy"], await healthy(states["inspector"]["url"])
        finally:
            await host.shutdown()

    started, toy, inspector_ok = asyncio.run(scenario())
    assert started == {"toy": False, "inspector": True} and inspector_ok
    assert toy["state"] == "failed" and "toy was told to fail at start-up" in toy["error"]


def test_a_port_taken_by_another_program_is_the_reason_given(toy_env):
    import socket

    async def scenario():
        host = Host(logs_dir=toy_env / "logs")
        port = host.instance("toy").port
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", port))
            blocker.listen()
            await host.start_all(["toy"])
        await host.shutdown()
        return host.runners["toy"].error, port

    error, port = asyncio.run(scenario())
    assert error.startswith(f"port {port} is not free")


def test_the_host_refuses_what_it_cannot_do_with_a_sentence(toy_env):
    host = Host(logs_dir=toy_env / "logs")
    with pytest.raises(HostError, match="Known services: .*toy") as unknown:
        host.instance("nope")
    assert unknown.value.status == 404
    with pytest.raises(HostError, match="lab isolate toy") as shared:
        host.signal("toy", "KILL")
    assert shared.value.status == 409
    with pytest.raises(HostError, match="Unknown signal"):
        host.signal("toy", "HUP")
