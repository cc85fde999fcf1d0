"""Fixtures for the inspector's tests: the service for the session, and a fresh bin per test."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.conftest import running_service
from tests.payments.conftest import Pay, pay, payments_url  # noqa: F401  (payments fixtures, for end-to-end tests)


@pytest.fixture(scope="package")
def inspector_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of an inspector started for this test session (small caps, to test them)."""
    env = {"INSPECTOR_MAX_REQUESTS_PER_BIN": "5", "INSPECTOR_KEEP_BODY_BYTES": "2048", "INSPECTOR_MAX_BINS": "30"}
    with running_service("inspector", tmp_path_factory.mktemp("inspector"), env) as address:
        yield address


@pytest.fixture(scope="package")
def ins(inspector_url: str) -> Pay:
    return Pay(inspector_url)


@pytest.fixture
def bin_(ins: Pay) -> Iterator[dict]:
    resp = ins.post("/api/bins", json={"name": "тест"})
    assert resp.status_code == 201, resp.text
    yield resp.json()
    ins.delete(f"/api/bins/{resp.json()['id']}")
