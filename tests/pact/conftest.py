"""One pact directory per test session: the consumer tests write the contract, the provider test verifies it."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest


@pytest.fixture(scope="package")
def pact_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pacts")


@pytest.fixture(scope="package")
def crm_url(tmp_path_factory) -> Iterator[str]:
    from tests.conftest import running_service

    with running_service("crm", tmp_path_factory.mktemp("crm-provider")) as url:
        yield url
