"""Every lab service keeps the contract its OpenAPI document states, under generated input.

Schemathesis reads each declared service's OpenAPI document and, per operation, sends the
documented examples, then boundary and negative cases (its coverage phase), then random
valid and invalid requests (Hypothesis), with every one of its checks on: no 5xx, only
documented status codes, content types and headers, bodies that match their schemas, bad
input refused, good input accepted, secured operations refusing a missing credential,
undocumented methods answered 405. One test per operation: ``test_operation[shop][GET /api/users]``.
What may differ, and why, is the short list in ``allowlist.py``.

``LAB_CONTRACT_EXAMPLES`` raises the number of random cases per operation (default 10,
so CI stays fast); ``LAB_CONTRACT_SEED`` changes the seed to explore further.
"""
from __future__ import annotations

import os

import pytest
import requests
import schemathesis

from .allowlist import INSTEAD, REPLACED, xfail_if_known
from .documents import openapi_documents
from .services import CREDENTIALS

EXAMPLES = int(os.environ.get("LAB_CONTRACT_EXAMPLES", "10"))
SEED = int(os.environ.get("LAB_CONTRACT_SEED", "20240208"))


def settings(service: str) -> schemathesis.Config:
    """All checks on, a bounded number of cases, a fixed seed, the service's sandbox credentials."""
    config = {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "request-timeout": 15,
    }
    if service in CREDENTIALS:
        config["auth"] = {"openapi": CREDENTIALS[service]}
    return schemathesis.Config.from_dict(config)


# Each document is tagged with its service's name: the test finds the running service by it.
SCHEMAS = {name: schemathesis.openapi.from_dict({**doc, "x-lab-service": name}, config=settings(name))
           for name, doc in openapi_documents().items()}


@pytest.fixture(scope="module")
def session():
    with requests.Session() as s:
        yield s


@schemathesis.pytest.parametrize(**SCHEMAS)
def test_operation(case: schemathesis.Case, contract_lab: dict[str, str], session: requests.Session) -> None:
    service = case.operation.schema.raw_schema["x-lab-service"]
    base_url = contract_lab[service]
    try:
        case.call_and_validate(base_url=base_url, session=session, excluded_checks=REPLACED)
    except (AssertionError, BaseExceptionGroup):  # schemathesis raises its failures as a group
        xfail_if_known(service, case.method, case.path)
        raise
    finally:
        if case.path.startswith("/admin/") and case.method.upper() != "GET":
            # A generated chaos or rate-limit switch must not break the cases after it.
            session.post(base_url + "/admin/reset", timeout=15)


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_served_document_is_the_one_tested(name: str, contract_lab: dict[str, str]) -> None:
    served = requests.get(contract_lab[name] + "/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == openapi_documents()[name]
