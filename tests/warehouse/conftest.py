"""The warehouse with the shop and the carrier in one host, as `lab up` runs them."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests

from labkit import config
from tests.conftest import running_host


class Lab:
    def __getattr__(self, method: str):
        def call(service: str, path: str, **kwargs) -> requests.Response:
            return requests.request(method.upper(), config.url(service) + path, timeout=15, **kwargs)
        return call


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Iterator[Lab]:
    with running_host(["warehouse", "shop", "carrier"], tmp_path_factory.mktemp("warehouse"),
                      {"WAREHOUSE_SYNC_RETRY_S": "0.3"}):
        yield Lab()
