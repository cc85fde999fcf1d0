"""The CRM in a host process of its own, and a client that holds a token."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests

from tests.conftest import running_service

CLIENT = {"grant_type": "client_credentials", "client_id": "lab-middleware", "client_secret": "mw-secret"}


class Crm:
    def __init__(self, url: str, form: dict | None = None) -> None:
        self.url = url
        token = requests.post(f"{url}/services/oauth2/token", data=form or CLIENT, timeout=10).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str):
        def call(path: str, **kwargs) -> requests.Response:
            return requests.request(method.upper(), self.url + path, headers={**self.headers, **kwargs.pop("headers", {})},
                                    timeout=10, **kwargs)
        return call


@pytest.fixture(scope="package")
def crm_url(tmp_path_factory) -> Iterator[str]:
    with running_service("crm", tmp_path_factory.mktemp("crm")) as url:
        yield url


@pytest.fixture
def crm(crm_url) -> Crm:
    return Crm(crm_url)
