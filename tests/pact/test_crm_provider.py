"""Provider side: the real CRM, put in each provider state, replays the middleware's pact (offline, no broker)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from pact import Verifier

from tests.pact.crm_contract import write_contract


def _token(crm_url: str) -> str:
    return requests.post(f"{crm_url}/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "lab-middleware", "client_secret": "mw-secret"},
        timeout=10).json()["access_token"]


def verifier(crm_url: str, pact_file: Path) -> Verifier:
    def state(state: str, action: str, parameters: dict | None) -> None:
        """Every state starts from the CRM's seed data: the seeded contact exists, the new email does not."""
        if action == "setup":
            assert requests.post(f"{crm_url}/admin/reset", timeout=10).status_code == 200

    return (Verifier("crm", host="127.0.0.1").add_transport(url=crm_url)
            .add_source(str(pact_file)).state_handler(state, teardown=True)
            .add_custom_header("Authorization", f"Bearer {_token(crm_url)}"))


@pytest.fixture(scope="module")
def pact_file(pact_dir) -> Path:
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    path = pact_dir / "middleware-crm.json"
    return path if path.exists() else write_contract(pact_dir)


def test_the_crm_honours_the_middlewares_contract(crm_url, pact_file):
    v = verifier(crm_url, pact_file)
    v.verify()
    assert v.results["result"] is True


def test_a_crm_that_renames_a_field_is_caught(crm_url, pact_file, tmp_path):
    # The same contract, but as if the CRM answered "results" where the client reads "data": it must fail.
    pact = json.loads(pact_file.read_text())
    for interaction in pact["interactions"]:
        body = interaction.get("response", {}).get("body", {})
        if isinstance(body.get("content"), dict) and "data" in body["content"]:
            body["content"]["results"] = body["content"].pop("data")
            rules = interaction["response"].get("matchingRules", {}).get("body", {})
            for key in [k for k in rules if k.startswith("$.data")]:
                rules[key.replace("$.data", "$.results", 1)] = rules.pop(key)
    broken = tmp_path / "renamed.json"
    broken.write_text(json.dumps(pact))
    with pytest.raises(RuntimeError):
        verifier(crm_url, broken).verify()
