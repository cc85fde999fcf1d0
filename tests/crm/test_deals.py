"""Deals: upserted by the order's id, so a retried integration makes one deal."""
from __future__ import annotations

import secrets

from tests.crm.conftest import Crm


def _contact(crm: Crm) -> str:
    return crm.post("/api/contacts", json={"email": f"d{secrets.token_hex(4)}@example.com"}).json()["id"]


def test_upsert_by_external_id_makes_one_deal(crm: Crm):
    contact, order = _contact(crm), f"order-{secrets.token_hex(3)}"
    body = {"name": f"Замовлення {order}", "amount": 45549, "stage": "Closed Won", "contact_id": contact}
    first = crm.put(f"/api/deals/by-external-id/{order}", json=body)
    again = crm.put(f"/api/deals/by-external-id/{order}", json={**body, "amount": 45000})
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    listed = crm.get("/api/deals", params={"external_id": order}).json()
    assert listed["pagination"]["total"] == 1 and listed["data"][0]["amount"] == 45000
    assert listed["data"][0]["id"].startswith("006")


def test_create_patch_and_filter_by_contact(crm: Crm):
    contact = _contact(crm)
    deal = crm.post("/api/deals", json={"name": "Ноутбуки для офісу", "amount": 90000, "contact_id": contact})
    assert deal.status_code == 201 and deal.json()["stage"] == "Prospecting" and "location" in deal.headers
    moved = crm.patch(f"/api/deals/{deal.json()['id']}", json={"stage": "Negotiation"}).json()
    assert moved["stage"] == "Negotiation" and moved["amount"] == 90000
    assert [d["id"] for d in crm.get("/api/deals", params={"contact_id": contact}).json()["data"]] == [moved["id"]]


def test_a_deal_needs_a_known_contact_a_known_stage_and_a_free_external_id(crm: Crm):
    contact = _contact(crm)
    unknown = crm.post("/api/deals", json={"name": "x", "amount": 1, "contact_id": "003aaaaaaaaaaaaaaa"})
    assert unknown.status_code == 400 and unknown.json()["error"]["details"][0]["field"] == "contact_id"
    stage = crm.post("/api/deals", json={"name": "x", "amount": 1, "contact_id": contact, "stage": "Won"})
    assert stage.status_code == 400
    crm.post("/api/deals", json={"name": "x", "amount": 1, "contact_id": contact, "external_id": "dup-1"})
    dup = crm.post("/api/deals", json={"name": "x", "amount": 1, "contact_id": contact, "external_id": "dup-1"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "DUPLICATE_EXTERNAL_ID"
