"""Every declared lab service, running in one host process of its own for the contract tests.

The services come from ``labservices.common.declaration.declarations()``: a service added
later is tested without a line changed here. They run in a fresh state folder, so what the
generated requests create, change or delete never reaches the notebooks' stack.
"""
from __future__ import annotations

import os
from typing import Iterator

import pytest
import requests

from labkit import config
from labservices.common.declaration import declarations
from tests.conftest import running_host

from .services import ENVIRONMENT

BROKERS = {"rabbitmq", "kafka"}


def service_names() -> list[str]:
    return [s.name for s in declarations()]


@pytest.fixture(scope="package")
def contract_lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Every declared service in one host, as `lab up` runs them; yields name -> base URL."""
    if any(BROKERS & set(s.needs) for s in declarations()):
        request.getfixturevalue("lab_brokers")  # the brokers of the session, started once
    names = service_names()
    with running_host(names, tmp_path_factory.mktemp("contract"), ENVIRONMENT):
        yield {name: config.url(name) for name in names}
        loop = requests.get(os.environ["LAB_HOST_URL"] + "/loop", timeout=10).json()
        assert loop["blocked"] == 0, f"a handler blocked the shared event loop: {loop['blocks'][:3]}"
