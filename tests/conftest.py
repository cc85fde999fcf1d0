"""Shared fixtures: lab services run for real, in the lab's host process, on free loopback ports."""
from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from labkit import components, config
from labkit.procs import free_port, http_ok, spawn, terminate, wait_until

ROOT = Path(__file__).resolve().parent.parent
TOY_PACKAGE = "tests.toyservice"  # a service of the tests' own: a package and one declaration
TOY_ENV = {"LAB_SERVICE_PACKAGES": TOY_PACKAGE}


def start_service(name: str, home: Path, extra_env: dict[str, str] | None = None, address: str | None = None):
    """Start lab service ``name`` alone in a host process, data under ``home``; return (URL, process)."""
    address = address or f"http://127.0.0.1:{free_port()}"
    env = {"LAB_HOME": str(home), config.env_name(name): address, **(extra_env or {})}
    proc = spawn(components.isolated_command(name), env=env, log_path=home / f"{name}.log", cwd=ROOT)
    if not wait_until(lambda: http_ok(address + "/health"), timeout=30, while_alive=proc.pid):
        log = (home / f"{name}.log").read_text(errors="replace")[-3000:]
        terminate(proc.pid)
        pytest.fail(f"{name} did not become healthy at {address}; its log ends:\n{log}")
    return address, proc


BLOCKED = "event loop blocked"  # what the host's watchdog writes when a handler blocks the shared loop


def assert_loop_never_blocked(log: Path) -> None:
    """Fail when a service blocked its event loop (the host's watchdog logged it): a test, not a warning."""
    text = log.read_text(errors="replace") if log.exists() else ""
    blocked = [line for line in text.splitlines() if BLOCKED in line]
    assert not blocked, f"a handler blocked the shared event loop (see {log}):\n" + "\n".join(blocked[:5])


@contextmanager
def running_service(name: str, home: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run lab service ``name`` in a host process of its own with its data under ``home``; yield its URL.

    When the session is done with it, its log must show that nothing blocked its event loop.
    """
    address = f"http://127.0.0.1:{free_port()}"
    old = os.environ.get(config.env_name(name))
    os.environ[config.env_name(name)] = address
    try:
        _, proc = start_service(name, home, extra_env, address)
        try:
            yield address
        finally:
            terminate(proc.pid)
            proc.wait(timeout=10)
        assert_loop_never_blocked(home / f"{name}.log")
    finally:
        if old is None:
            os.environ.pop(config.env_name(name), None)
        else:
            os.environ[config.env_name(name)] = old


@pytest.fixture(scope="session")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a shop service started for this test session (fresh seed data)."""
    with running_service("shop", tmp_path_factory.mktemp("shop")) as address:
        yield address


@pytest.fixture(scope="session")
def toy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tiny service built with labservices.common's factory, in a host process (tests/toyservice)."""
    with running_service("toy", tmp_path_factory.mktemp("toy"), {**TOY_ENV, "TOY_MAX_BODY_BYTES": "4096"}) as address:
        yield address


@pytest.fixture(scope="session")
def lab_brokers(tmp_path_factory: pytest.TempPathFactory):
    """Real RabbitMQ and Kafka, started by `Stack.up()` on free ports (tests/brokers/session.py).

    Their addresses go into ``os.environ`` (LAB_AMQP_URL, LAB_KAFKA_BOOTSTRAP, ...);
    ``lab_stack`` shares them: it runs in the same state folder, where they are already up.
    """
    from tests.brokers.session import running_brokers

    with running_brokers(tmp_path_factory.mktemp("lab-home")) as stack:
        yield stack


@pytest.fixture(scope="session")
def lab_stack(lab_brokers):
    """The whole lab stack, started by `Stack.up()` on free ports in a fresh state folder.

    Addresses go into ``os.environ`` (``LAB_<NAME>_URL``), so notebook kernels started
    by the tests find the same services the way a student's kernel does.
    """
    from labkit.stack import Stack

    home = lab_brokers.home
    saved = dict(os.environ)
    for comp in components.components():
        if comp.kind == "service":
            os.environ[config.env_name(comp.name)] = f"http://127.0.0.1:{free_port()}"
        elif comp.kind == "monitor":  # Prometheus, Alertmanager
            os.environ[comp.address_env] = f"http://127.0.0.1:{free_port()}"
    os.environ["LAB_HOST_URL"] = f"http://127.0.0.1:{free_port()}"  # never a student's lab on 8090
    os.environ["LAB_HOME"] = str(home)
    stack = Stack(home=home)
    try:
        stack.up(timeout=180)
        yield stack
        loop = requests.get(os.environ["LAB_HOST_URL"] + "/loop", timeout=10).json()
        assert loop["blocked"] == 0, f"a handler blocked the shared event loop: {loop['blocks'][:3]}"
    finally:
        stack.down()
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def running_host(names: list[str], home: Path, extra_env: dict[str, str] | None = None) -> Iterator:
    """Services ``names`` in one host process, as `lab up` runs them, on free ports; yields the Stack.

    Their addresses, the host's control URL and LAB_HOME are in ``os.environ`` meanwhile.
    """
    from labkit.stack import Stack

    saved = dict(os.environ)
    try:
        os.environ.update(extra_env or {})  # LAB_SERVICE_PACKAGES may name where a service is declared
        specs = [c for c in components.components() if c.kind == "service" and c.name in names]
        on_bus = "LAB_AMQP_URL" not in (extra_env or {}) and any({"rabbitmq", "kafka"} & set(s.declaration.needs)
                                                                 for s in specs)
        with private_bus() if on_bus else nullcontext({}) as bus:
            os.environ.update(bus)
            os.environ.update({config.env_name(n): f"http://127.0.0.1:{free_port()}" for n in names})
            os.environ.update({"LAB_HOST_URL": f"http://127.0.0.1:{free_port()}", "LAB_HOME": str(home)})
            stack = Stack(home=home, components=[components.HostSpec(specs), *specs])
            try:
                stack.up(timeout=60)
                # The host keeps its private bus; a session-scoped host must not hand it to every later test.
                for key in bus:
                    if key in saved:
                        os.environ[key] = saved[key]
                    else:
                        os.environ.pop(key, None)
                yield stack
            finally:
                stack.down()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def private_bus() -> Iterator[dict[str, str]]:
    """A RabbitMQ virtual host and a Kafka topic of their own, as environment variables.

    Services of the session's brokers share their queues by name (``inventory.events``): a second
    inventory on the same virtual host would take half of the lab's messages, and the notebooks' orders
    would wait for events another host consumed. Yields {} when the brokers are not up.
    """
    import secrets
    from urllib.parse import quote

    amqp, management = os.environ.get("LAB_AMQP_URL"), os.environ.get("LAB_RABBITMQ_MANAGEMENT_URL")
    if not amqp or not management:
        yield {}
        return
    tag = f"test-{secrets.token_hex(4)}"
    auth = ("guest", "guest")
    try:
        made = requests.put(f"{management}/api/vhosts/{tag}", auth=auth, timeout=10).status_code in (201, 204)
        if made:
            requests.put(f"{management}/api/permissions/{tag}/guest", auth=auth, timeout=10,
                         json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    except requests.RequestException:
        made = False
    if not made:
        yield {}
        return
    try:
        yield {"LAB_AMQP_URL": f"{amqp.rstrip('/')}/{quote(tag)}", "LAB_EVENTS_TOPIC": f"lab.events.{tag}"}
    finally:
        try:
            requests.delete(f"{management}/api/vhosts/{tag}", auth=auth, timeout=10)
        except requests.RequestException:
            pass


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "it") -> Any:
    """Wait until ``check()`` returns something truthy and return it; fail saying what never happened."""
    found: dict = {}

    def probe() -> bool:
        found["v"] = check()
        return bool(found["v"])

    assert wait_until(probe, timeout=timeout, interval=0.1), f"{what} never happened (last: {found.get('v')!r})"
    return found["v"]


