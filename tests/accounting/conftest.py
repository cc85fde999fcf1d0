"""Accounting with the payments service in one host; accounting registers its webhook endpoint by itself."""
from __future__ import annotations

from typing import Iterator

import pytest
from labkit.procs import wait_until
from tests.conftest import running_host
from tests.lab_http import Lab


@pytest.fixture(scope="package")
def lab(tmp_path_factory) -> Iterator[Lab]:
    with running_host(["accounting", "payments"], tmp_path_factory.mktemp("accounting"),
                      {"PAYMENTS_RETRY_TIME_SCALE": "0.001"}):
        lab = Lab()
        assert wait_until(lambda: any("accounting" in e["description"] for e in lab.get(
            "payments", "/api/webhook_endpoints").json()["data"]), timeout=30)
        yield lab
