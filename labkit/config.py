"""Where every lab component is: one place for every address.

``LAB_<NAME>_URL`` environment variables override the defaults, so the same
notebook runs unchanged locally, under docker compose and in Binder::

    from labkit import url
    requests.get(url("shop") + "/api/products")
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

# Default loopback ports of the local stack. Change them with LAB_<NAME>_URL.
DEFAULT_PORTS: dict[str, int] = {
    "shop": 8001,
}

HOST = "127.0.0.1"


def lab_home() -> Path:
    """The lab's state folder (pids, logs, data): ``$LAB_HOME`` or ``~/.integration-lab``."""
    return Path(os.environ.get("LAB_HOME") or Path.home() / ".integration-lab")


def env_name(name: str) -> str:
    return f"LAB_{name.upper().replace('-', '_')}_URL"


def url(name: str) -> str:
    """Base URL of lab service ``name`` (no trailing slash)."""
    override = os.environ.get(env_name(name))
    if override:
        return override.rstrip("/")
    if name not in DEFAULT_PORTS:
        known = ", ".join(sorted(DEFAULT_PORTS))
        raise KeyError(f"No lab service is called {name!r}. Known services: {known}.")
    return f"http://{HOST}:{DEFAULT_PORTS[name]}"


def is_local(address: str) -> bool:
    """True when ``address`` points at this machine's loopback, where `lab up` runs the component."""
    host = urlsplit(address if "//" in address else f"//{address}").hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def port_of(address: str) -> int:
    parts = urlsplit(address if "//" in address else f"//{address}")
    return parts.port or (443 if parts.scheme == "https" else 80)
