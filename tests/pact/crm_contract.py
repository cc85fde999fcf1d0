"""The middleware's contract with the CRM, written by the consumer (``labservices.middleware.crm.CrmClient``).

Each interaction says what the middleware sends and the least it needs back (matchers, not exact
values: an id that looks like a Salesforce contact id, a list of such contacts), under a provider
state the CRM can be put in. The consumer tests run the real client against Pact's mock server,
which answers from these interactions and fails on any request they do not describe; the pact
file they write is what the provider test replays against the real CRM.
"""
from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from pact import Pact, match

from labservices.common.client import ServiceClient
from labservices.middleware.crm import CrmClient

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")  # Pact would otherwise phone home (and wait for it)

CONSUMER, PROVIDER = "middleware", "crm"
SEEDED = {"id": "0033cW42nGa0Zzi1pd", "email": "ivan@example.com"}  # a contact of the CRM's seed data
NEW_EMAIL = "new.customer@example.com"
CONTACT_ID = match.regex("0033cW42nGa0Zzi1pd", regex=r"^003[A-Za-z0-9]{15}$")
BEARER = match.regex("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", regex=r"^Bearer \S+$")


@dataclass(frozen=True)
class Interaction:
    name: str
    describe: Callable[[Pact], None]
    exercise: Callable[[CrmClient], Awaitable[None]]


def token(pact: Pact) -> None:
    (pact.upon_receiving("a client-credentials token request")
     .with_request("POST", "/services/oauth2/token")
     .with_body("grant_type=client_credentials&client_id=lab-middleware&client_secret=mw-secret",
                content_type="application/x-www-form-urlencoded")
     .will_respond_with(200)
     .with_body({"access_token": match.string("eyJhbGciOiJIUzI1NiJ9.e30.sig"), "token_type": "Bearer",
                 "expires_in": match.integer(3600)}, content_type="application/json"))


def find_existing(pact: Pact) -> None:
    (pact.upon_receiving("a lookup of a contact by email").given("a contact exists", **SEEDED)
     .with_request("GET", "/api/contacts").with_query_parameter("email", SEEDED["email"])
     .with_header("Authorization", BEARER)
     .will_respond_with(200)
     .with_body({"data": match.each_like({"id": CONTACT_ID, "email": SEEDED["email"]}, min=1)},
                content_type="application/json"))


async def found_existing(crm: CrmClient) -> None:
    contact = await crm.find_contact(SEEDED["email"])
    assert contact is not None and contact["id"].startswith("003")


def find_missing(pact: Pact) -> None:
    (pact.upon_receiving("a lookup of an email the CRM does not know").given("no contact has the email", email=NEW_EMAIL)
     .with_request("GET", "/api/contacts").with_query_parameter("email", NEW_EMAIL)
     .with_header("Authorization", BEARER)
     .will_respond_with(200).with_body({"data": []}, content_type="application/json"))


async def found_nothing(crm: CrmClient) -> None:
    assert await crm.find_contact(NEW_EMAIL) is None


def create(pact: Pact) -> None:
    body = {"email": NEW_EMAIL, "first_name": "Олена", "last_name": "Коваленко", "lead_source": "Web",
            "tags": ["customer"]}
    (pact.upon_receiving("a new contact").given("no contact has the email", email=NEW_EMAIL)
     .with_request("POST", "/api/contacts").with_header("Authorization", BEARER)
     .with_body(body, content_type="application/json")
     .will_respond_with(201).with_body({"id": CONTACT_ID, "email": NEW_EMAIL}, content_type="application/json"))


async def created(crm: CrmClient) -> None:
    contact = await crm.create_contact({"email": NEW_EMAIL, "first_name": "Олена", "last_name": "Коваленко",
                                        "lead_source": "Web", "tags": ["customer"]})
    assert contact["id"].startswith("003")


def upsert_deal(pact: Pact) -> None:
    body = {"name": "Замовлення order-1001", "amount": 1098, "currency": "UAH", "stage": "Closed Won",
            "contact_id": SEEDED["id"]}
    (pact.upon_receiving("a deal for a new order").given("a contact exists", **SEEDED)
     .with_request("PUT", "/api/deals/by-external-id/order-1001").with_header("Authorization", BEARER)
     .with_body(body, content_type="application/json")
     .will_respond_with(201)
     .with_body({"id": match.regex("006a1B2c3D4e5F6g7H", regex=r"^006[A-Za-z0-9]{15}$"),
                 "external_id": "order-1001", "stage": "Closed Won"}, content_type="application/json"))


async def deal_upserted(crm: CrmClient) -> None:
    deal = await crm.upsert_deal("order-1001", {"name": "Замовлення order-1001", "amount": 1098, "currency": "UAH",
                                                "stage": "Closed Won", "contact_id": SEEDED["id"]})
    assert deal["id"].startswith("006")


def activity(pact: Pact) -> None:
    body = {"type": "email_opened", "subject": "Відкрив лист кампанії", "external_id": "msg_1"}
    (pact.upon_receiving("an activity on a contact").given("a contact exists", **SEEDED)
     .with_request("POST", f"/api/contacts/{SEEDED['id']}/activities").with_header("Authorization", BEARER)
     .with_body(body, content_type="application/json")
     .will_respond_with(201).with_body({"id": match.integer(1), "type": "email_opened"},
                                       content_type="application/json"))


async def activity_added(crm: CrmClient) -> None:
    added = await crm.add_activity(SEEDED["id"], {"type": "email_opened", "subject": "Відкрив лист кампанії",
                                                 "external_id": "msg_1"})
    assert added["type"] == "email_opened"


INTERACTIONS = [Interaction("find an existing contact", find_existing, found_existing),
                Interaction("find no contact", find_missing, found_nothing),
                Interaction("create a contact", create, created),
                Interaction("upsert a deal", upsert_deal, deal_upserted),
                Interaction("record an activity", activity, activity_added)]


def check(interaction: Interaction, pact_dir: Path) -> None:
    """Run the real client against Pact's mock server for one interaction; add it to the pact file."""
    pact = Pact(CONSUMER, PROVIDER).with_specification("V4")
    token(pact)
    interaction.describe(pact)
    with pact.serve(raises=True, verbose=False) as server:
        async def exercise() -> None:
            client = ServiceClient("middleware-contract-test")
            try:
                await interaction.exercise(CrmClient(client, str(server.url), "lab-middleware", "mw-secret"))
            finally:
                await client.aclose()
        asyncio.run(exercise())
    pact.write_file(pact_dir, overwrite=False)


def write_contract(pact_dir: Path) -> Path:
    """Every interaction, checked and written: the pact file the provider is verified against."""
    for interaction in INTERACTIONS:
        check(interaction, pact_dir)
    return pact_dir / f"{CONSUMER}-{PROVIDER}.json"
