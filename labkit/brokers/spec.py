"""What the two broker components share: the component interface, a folder each, free ports."""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from .. import config
from ..errors import StackError
from ..procs import free_port


def broker_error(message: str) -> Exception:
    """A broker cannot be installed, prepared or reached: a ``StackError``, so `lab` prints the sentence."""
    return StackError(message)


class BrokerSpec:
    """A message broker as a lab component (``labkit.components.ServiceSpec``'s interface).

    ``address`` is what clients connect to; ``prepare(home, say)`` does the one-off work
    before a start (install, fetch, configure) and writes everything under
    ``home/<name>/``; ``cleanup`` runs after `lab down` has stopped the process.
    """

    kind = "broker"
    name = ""
    teaches = ""
    notebooks = ""

    def __init__(self, address: str | None = None) -> None:
        self._address = address  # fixed address (tests); None: read the environment each time

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r})"

    @property
    def address(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def external(self) -> bool:
        """Running elsewhere (compose, another host): the stack only checks it."""
        return not config.is_local(self.address)

    @property
    def host(self) -> str:
        address = self.address.split(",")[0]
        return urlsplit(address if "//" in address else f"//{address}").hostname or config.HOST

    @property
    def port(self) -> int:
        return config.port_of(self.address.split(",")[0])

    def folder(self, home: Path) -> Path:
        return Path(home) / self.name

    def identify(self) -> str | None:
        """This component's name if a broker of its kind answers on its port."""
        return self.name if self.ready() else None

    # --- ports that only the lab's own process uses, chosen at each start ------------

    def _ports_file(self, home: Path) -> Path:
        return self.folder(home) / "ports.json"

    def read_ports(self, home: Path) -> dict[str, int]:
        try:
            ports = json.loads(self._ports_file(home).read_text())
        except (OSError, ValueError):
            return {}
        return ports if isinstance(ports, dict) else {}

    def choose_ports(self, home: Path, names: list[str]) -> dict[str, int]:
        """Fresh free loopback ports for ``names``, unless set in ``LAB_<NAME>_<PORT>`` variables."""
        ports = {}
        for port_name in names:
            env = f"LAB_{self.name.upper()}_{port_name.upper()}_PORT"
            ports[port_name] = int(os.environ.get(env) or free_port())
        self.folder(home).mkdir(parents=True, exist_ok=True)
        self._ports_file(home).write_text(json.dumps(ports))
        return ports
