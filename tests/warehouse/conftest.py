"""The warehouse with the shop and the carrier in one host, as `lab up` runs them."""
from __future__ import annotations

from typing import Iterator

import pytest
from tests.conftest import running_host
from tests.lab_http import Lab


@pytest.fixture(scope="package")
def lab(tmp_path_factory) -> Iterator[Lab]:
    with running_host(["warehouse", "shop", "carrier"], tmp_path_factory.mktemp("warehouse"),
                      {"WAREHOUSE_SYNC_RETRY_S": "0.3"}):
        yield Lab()
