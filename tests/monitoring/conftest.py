"""Monitoring fixtures: a small stack of the real Prometheus and Alertmanager beside a host of services.

``monitored`` runs the tests' toy service and the inspector in one host process, with the lab's
Prometheus (which must find the toy from its declaration alone) and Alertmanager (which delivers
to the inspector's alerts bin), all on free ports in one state folder, as `lab up` runs them.
"""
from __future__ import annotations

import os
import shutil
from typing import Iterator

import pytest

from labkit import components
from labkit.monitoring import AlertmanagerSpec, PrometheusSpec
from labkit.monitoring.alertmanager import alertmanager_binary
from labkit.monitoring.prometheus import prometheus_binary, promtool_binary
from labkit.procs import free_port
from labkit.stack import Stack, StackError
from tests.conftest import TOY_ENV


def needs_prometheus() -> None:
    """Skip, saying why, when Prometheus is missing and cannot be installed here."""
    if prometheus_binary() and alertmanager_binary() and promtool_binary():
        return
    if not (os.geteuid() == 0 and shutil.which("apt-get")):
        pytest.skip("Prometheus and Alertmanager are not installed and cannot be installed here (needs root and "
                    "apt-get): install prometheus and prometheus-alertmanager to run the monitoring tests")


@pytest.fixture(scope="session")
def promtool() -> str:
    needs_prometheus()
    if not promtool_binary():
        import subprocess

        from labkit.monitoring.server import INSTALL_SCRIPT

        subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True)
    return promtool_binary()


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Toy + inspector in a host, Prometheus and Alertmanager: up on free ports; the addresses in os.environ."""
    needs_prometheus()
    saved = dict(os.environ)
    os.environ.update(TOY_ENV)
    home = tmp_path_factory.mktemp("monitored")
    os.environ.update({"LAB_HOME": str(home), "LAB_HOST_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_TOY_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_INSPECTOR_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
                       "LAB_ALERTMANAGER_URL": f"http://127.0.0.1:{free_port()}",
                       # No RabbitMQ here: its target is down, never a student's broker on the default port.
                       "LAB_RABBITMQ_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"})
    specs = [c for c in components.components() if c.kind == "service" and c.name in ("toy", "inspector")]
    stack = Stack(home=home, components=[components.HostSpec(specs), *specs, PrometheusSpec(), AlertmanagerSpec()])
    try:
        try:
            stack.up(timeout=120)
        except StackError as exc:
            pytest.fail(f"the monitoring stack did not start:\n{exc}", pytrace=False)
        yield stack
    finally:
        stack.down()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def lab_env(lab_stack, monkeypatch) -> Stack:
    """The session's whole lab as a kernel sees it: LAB_HOME and every service's LAB_<NAME>_URL.

    Session fixtures of single services (``shop_url``, ``inspector_url``) point LAB_SHOP_URL and the
    like at services of their own until the session ends; Prometheus scrapes the lab's, so the
    addresses come from the lab's service host.
    """
    from labkit import config

    for name, state in lab_stack.host.states().items():
        monkeypatch.setenv(config.env_name(name), state["url"])
    monkeypatch.setenv("LAB_HOME", str(lab_stack.home))
    return lab_stack
