"""A lab service declares itself once; everything else is derived from the declarations.

Each service package says who it is in its ``__init__.py``::

    from labservices.common.declaration import Service

    SERVICE = Service(
        name="shop", port=8001,
        title="Shop API",
        teaches="REST: methods, status codes, pagination, auth, errors, versions",
        about="REST API інтернет-магазину з лекції: ...",
        notebooks="00, 01, 02; ex01, ex02",
    )

From the list of declarations come the stack's components (`lab up`, `lab status`), the
default addresses and their ``LAB_<NAME>_URL`` variables, the SSRF allow-list of lab host
names, the README's table, the compose file, the Dockerfile's ports and notebook 00's
table. Adding a service is its package plus that one declaration.

This module is imported by ``lab status`` and by every notebook (through ``labkit.url``),
so it stays light: no FastAPI here, and a service's ``__init__.py`` imports nothing heavy.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Callable

HOST = "127.0.0.1"
BIND_HOST_ENV = "LAB_BIND_HOST"  # the interface services listen on: 0.0.0.0 in a container, loopback otherwise
EXTRA_PACKAGES_ENV = "LAB_SERVICE_PACKAGES"  # comma-separated packages holding more declarations (tests)
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class Service:
    """One lab service: who it is, where it listens by default, what it teaches, how it is built."""

    name: str
    port: int
    title: str
    teaches: str  # English, for the README's table
    about: str = ""  # Ukrainian, for notebook 00's table
    notebooks: str = ""  # "00, 01; ex01"
    factory: str = ""  # "package.module:function" returning the FastAPI app; default <package>.main:build_app
    package: str = ""  # where the service's code lives; default labservices.<name>
    needs: tuple[str, ...] = ()  # other components it talks to ("rabbitmq", "payments", ...)
    compose_env: dict[str, str] = field(default_factory=dict)  # extra environment under docker compose
    extra_ports: dict[str, int] = field(default_factory=dict)  # listeners besides HTTP: {"smtp": 1025}
    instances: int = 1  # copies that run side by side: "catalog", "catalog-2" on the next port, ...
    discoverable: bool = False  # registers itself with the registry service while it runs

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"Service name {self.name!r} must be lower-case letters, digits and dashes.")
        if not 1024 <= self.port <= 65535:
            raise ValueError(f"Service {self.name}: port {self.port} is outside 1024..65535.")
        package = self.package or f"labservices.{self.name.replace('-', '_')}"
        object.__setattr__(self, "package", package)
        object.__setattr__(self, "factory", self.factory or f"{package}.main:build_app")

    @property
    def env_prefix(self) -> str:
        """Prefix of the service's own settings: ``SHOP_DB_PATH``, ``SHOP_PUBLIC_URL``..."""
        return self.name.upper().replace("-", "_") + "_"

    @property
    def url_env(self) -> str:
        """The variable that moves the service elsewhere: ``LAB_SHOP_URL``."""
        return url_env(self.name)

    @property
    def default_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """Where clients reach it now: ``LAB_<NAME>_URL`` or the default loopback port."""
        return (os.environ.get(self.url_env) or self.default_url).rstrip("/")

    def copies(self) -> list["Instance"]:
        """Every copy that runs: the first is named like the service, the n-th ``<name>-<n>`` on the n-th port.

        Copies share the service's data (its database), as stateless instances of one service do.
        """
        out = []
        for n in range(1, self.instances + 1):
            name = self.name if n == 1 else f"{self.name}-{n}"
            port = self.port + n - 1
            address = (os.environ.get(url_env(name)) or f"http://{HOST}:{port}").rstrip("/")
            out.append(Instance(self, name, address, port))
        return out

    def load_factory(self) -> Callable:
        """Import the app factory (the heavy part: FastAPI, the service's routes and store)."""
        module, _, attr = self.factory.partition(":")
        return getattr(importlib.import_module(module), attr or "build_app")


def bind_host(default: str = HOST) -> str:
    """Where a service's listeners bind: ``LAB_BIND_HOST``, else ``default``."""
    return os.environ.get(BIND_HOST_ENV) or default


def url_env(name: str) -> str:
    return f"LAB_{name.upper().replace('-', '_')}_URL"


def _packages() -> list[str]:
    import labservices

    names = [f"labservices.{m.name}" for m in pkgutil.iter_modules(labservices.__path__)
             if m.ispkg and m.name not in ("common", "host")]
    extra = [p.strip() for p in os.environ.get(EXTRA_PACKAGES_ENV, "").split(",") if p.strip()]
    return names + extra


_cache: dict[tuple[str, ...], list[Service]] = {}


def declarations() -> list[Service]:
    """Every declared service, in port order (cached per set of packages)."""
    packages = tuple(_packages())
    if packages not in _cache:
        found = []
        for package in packages:
            declared = getattr(importlib.import_module(package), "SERVICE", None)
            if isinstance(declared, Service):
                found.append(declared)
        _check_unique(found)
        _cache[packages] = sorted(found, key=lambda s: s.port)
    return list(_cache[packages])


def _check_unique(services: list[Service]) -> None:
    names: dict[str, str] = {}
    ports: dict[int, str] = {}
    for service in services:
        for name in (service.name, *(f"{service.name}-{n}" for n in range(2, service.instances + 1))):
            if name in names:
                raise ValueError(f"Services {names[name]} and {service.name} declare the same name {name!r}.")
            names[name] = service.name
        for port in (*range(service.port, service.port + service.instances), *service.extra_ports.values()):
            if port in ports:
                raise ValueError(f"Services {ports[port]} and {service.name} declare the same port {port!r}.")
            ports[port] = service.name


def declared(name: str) -> Service:
    """The declaration of service ``name``; a KeyError that lists the known ones otherwise."""
    for service in declarations():
        if service.name == name:
            return service
    known = ", ".join(s.name for s in declarations())
    raise KeyError(f"No lab service is called {name!r}. Known services: {known}.")


def instances() -> list["Instance"]:
    """Every running copy of every declared service, in port order."""
    return [copy for service in declarations() for copy in service.copies()]


def instance(name: str) -> "Instance":
    """The copy named ``name`` ("catalog", "catalog-2"); a KeyError that lists the known ones otherwise."""
    for copy in instances():
        if copy.name == name:
            return copy
    known = ", ".join(c.name for c in instances())
    raise KeyError(f"No lab service is called {name!r}. Known services: {known}.")


def lab_hosts() -> list[str]:
    """Host names a lab service may call besides loopback: the lab's containers under compose."""
    return ["jupyterlab", *(c.name for c in instances())]


@dataclass(frozen=True)
class Instance:
    """One running copy of a service: what the host hands to the service's factory."""

    service: Service
    name: str  # the service's name, or e.g. "catalog-2" for a second copy
    url: str  # where clients reach this copy
    default_port: int = 0  # its port when LAB_<NAME>_URL does not say otherwise

    @property
    def port(self) -> int:
        from urllib.parse import urlsplit

        return urlsplit(self.url).port or 80

    @classmethod
    def of(cls, name: str) -> "Instance":
        """The copy ``name`` at its configured address."""
        return instance(name)
