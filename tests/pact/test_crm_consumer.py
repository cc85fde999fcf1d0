"""Consumer side: the middleware's CRM client against Pact's mock server, one interaction at a time."""
from __future__ import annotations

import json

import pytest
from pact.error import MismatchesError

from tests.pact import crm_contract
from tests.pact.crm_contract import INTERACTIONS, Interaction, check


@pytest.mark.parametrize("interaction", INTERACTIONS, ids=lambda i: i.name)
def test_the_crm_client_keeps_to_the_contract(interaction: Interaction, pact_dir):
    check(interaction, pact_dir)
    pact = json.loads((pact_dir / "middleware-crm.json").read_text())
    assert interaction.name and any(i["description"] == "a client-credentials token request"
                                    for i in pact["interactions"])


def test_a_client_that_strays_from_the_contract_fails_against_the_mock(pact_dir):
    async def wrong_path(crm) -> None:  # what a typo in the client would do: a request the contract does not have
        await crm._call("GET", "/api/contact", params={"email": crm_contract.SEEDED["email"]})

    with pytest.raises(MismatchesError, match="Request not found: GET /api/contact"):
        check(Interaction("a typo", crm_contract.find_existing, wrong_path), pact_dir / "strays")


def test_the_written_contract_names_both_sides_and_every_interaction(pact_dir):
    path = crm_contract.write_contract(pact_dir)
    pact = json.loads(path.read_text())
    assert (pact["consumer"]["name"], pact["provider"]["name"]) == ("middleware", "crm")
    described = {i["description"] for i in pact["interactions"]}
    assert len(described) == len(INTERACTIONS) + 1
