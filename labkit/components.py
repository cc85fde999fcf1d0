"""What the stack runs, derived from the service declarations: brokers, the service host, the services.

Each component knows its address, how to start itself as a local process (or that the host
starts it), how to tell it is ready and how to restore its seed data; the stack does the rest
(state, health waiting, stopping). The HTTP services are not listed here: each declares itself
in ``labservices/<name>/__init__.py`` and :func:`components` turns the declarations into
:class:`ServiceSpec` entries, so a new service is its package plus that one declaration.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from labservices.common.declaration import Instance, Service, instances

from . import config
from .brokers import KAFKA, RABBITMQ
from .errors import StackError
from .procs import http_ok


def isolated_command(name: str) -> list[str]:
    """How one service runs as a process of its own: the host with just that service (as `lab isolate` does).

    Its port comes from ``LAB_<NAME>_URL`` and its data from ``LAB_HOME`` in the environment.
    """
    return [sys.executable, "-m", "labservices.host", "--only", name, "--child"]


@dataclass(frozen=True)
class ServiceSpec:
    """One copy of a lab FastAPI service; the host process runs it (``labservices.host``), the stack checks it."""

    instance: Instance
    kind: str = "service"

    @property
    def declaration(self) -> Service:
        return self.instance.service

    @property
    def name(self) -> str:
        return self.instance.name

    @property
    def teaches(self) -> str:
        return self.declaration.teaches

    @property
    def notebooks(self) -> str:
        return self.declaration.notebooks

    @property
    def address(self) -> str:
        return config.url(self.name)

    @property
    def external(self) -> bool:
        """Running elsewhere (compose, another host): the stack only checks it."""
        return not config.is_local(self.address)

    def command(self) -> list[str]:
        """The service alone in a process (tests, the grader); `lab up` runs it inside the host instead."""
        return isolated_command(self.name)

    def environment(self, home: Path) -> dict[str, str]:
        return {"LAB_HOME": str(home), config.env_name(self.name): self.address}

    def ready(self) -> bool:
        return http_ok(self.address + "/health")

    def identify(self) -> str | None:
        """The service name a listener on our port reports, if it is a lab service."""
        try:
            body = requests.get(self.address + "/health", timeout=1).json()
        except (requests.RequestException, ValueError):
            return None
        return body.get("service") if isinstance(body, dict) else None

    def reset(self) -> None:
        resp = requests.post(self.address + "/admin/reset", timeout=10)
        resp.raise_for_status()

    def describe(self) -> dict[str, str]:
        return {"url": self.address}


class HostSpec:
    """The one process that runs every local lab service, each on its own port (``python -m labservices.host``)."""

    kind = "host"
    name = "host"
    teaches = "runs every HTTP service of the lab in one light process; its control API starts and stops them"
    notebooks = ""

    def __init__(self, services: list[ServiceSpec]) -> None:
        self.services = services

    @property
    def address(self) -> str:
        return config.host_url()

    address_env = "LAB_HOST_URL"

    @property
    def external(self) -> bool:
        return not config.is_local(self.address)

    def local_services(self) -> list[ServiceSpec]:
        return [s for s in self.services if not s.external]

    def command(self, home: Path) -> list[str]:
        names = ",".join(s.name for s in self.local_services())
        return [sys.executable, "-m", "labservices.host", "--logs", str(Path(home) / "logs"), "--only", names]

    def environment(self, home: Path) -> dict[str, str]:
        # Every service learns every other one's address (they call each other by it).
        env = {config.env_name(s.name): s.address for s in self.services}
        return {**env, "LAB_HOME": str(home), "LAB_HOST_URL": self.address}

    def ready(self) -> bool:
        return http_ok(self.address + "/health")

    def identify(self) -> str | None:
        return self.name if self.ready() else None

    def call(self, method: str, path: str, timeout: float = 30.0, **kwargs) -> dict | list:
        """One call to the host's control API; a StackError with its message when it refuses."""
        try:
            resp = requests.request(method, self.address + path, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise StackError(f"The lab's service host does not answer at {self.address} ({type(exc).__name__}). "
                             "Start it with `lab up`.") from None
        if resp.status_code >= 400:
            try:
                message = resp.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = resp.text[:300]
            raise StackError(message)
        return resp.json()

    def states(self) -> dict[str, dict]:
        """Each service's state as the host sees it; empty when the host is not running."""
        try:
            return {s["name"]: s for s in self.call("GET", "/services", timeout=2)}
        except StackError:
            return {}

    def describe(self) -> dict[str, str]:
        return {"url": self.address}


def components() -> list:
    """Everything `lab up` runs: the brokers first (they take longest), the host, then each service."""
    services = [ServiceSpec(i) for i in instances()]
    return [RABBITMQ, KAFKA, HostSpec(services), *services]


def __getattr__(name: str):
    if name == "COMPONENTS":  # derived afresh: a test may declare a service of its own
        return components()
    raise AttributeError(f"module 'labkit.components' has no attribute {name!r}")


def by_name(name: str, comps: list | None = None):
    for comp in comps if comps is not None else components():
        if comp.name == name:
            return comp
    known = ", ".join(c.name for c in (comps if comps is not None else components()))
    raise KeyError(f"No lab component is called {name!r}. Known components: {known}.")
