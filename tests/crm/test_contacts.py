"""Contacts: found by email, created once, upserted by email, with their activities."""
from __future__ import annotations

import secrets

from tests.crm.conftest import Crm


def _email() -> str:
    return f"c{secrets.token_hex(4)}@example.com"


def test_a_seeded_contact_is_found_by_email_in_any_case(crm: Crm):
    found = crm.get("/api/contacts", params={"email": "Olena.Kovalenko@Example.com"}).json()
    assert found["pagination"]["total"] == 1
    [olena] = found["data"]
    assert olena["first_name"] == "Олена" and olena["id"].startswith("003") and len(olena["id"]) == 18


def test_an_unknown_email_finds_nothing(crm: Crm):
    assert crm.get("/api/contacts", params={"email": _email()}).json()["data"] == []


def test_create_is_201_with_location_and_a_second_one_is_409(crm: Crm):
    email = _email()
    resp = crm.post("/api/contacts", json={"email": email.upper(), "first_name": "Богдан", "tags": ["lead"]})
    assert resp.status_code == 201 and resp.json()["email"] == email
    assert resp.headers["location"].endswith(f"/api/contacts/{resp.json()['id']}")
    assert crm.get(f"/api/contacts/{resp.json()['id']}").json()["tags"] == ["lead"]
    again = crm.post("/api/contacts", json={"email": email})
    assert again.status_code == 409 and again.json()["error"]["code"] == "DUPLICATE_EMAIL"


def test_upsert_by_email_creates_then_updates_the_same_contact(crm: Crm):
    email = _email()
    first = crm.put(f"/api/contacts/by-email/{email}", json={"first_name": "Ірина", "city": "Київ"})
    second = crm.put(f"/api/contacts/by-email/{email}", json={"phone": "+380501234567"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert (second.json()["first_name"], second.json()["phone"]) == ("Ірина", "+380501234567")


def test_patch_changes_only_what_is_sent(crm: Crm):
    contact = crm.post("/api/contacts", json={"email": _email(), "first_name": "Марко", "city": "Рівне"}).json()
    patched = crm.patch(f"/api/contacts/{contact['id']}", json={"city": "Луцьк", "tags": ["vip"]}).json()
    assert (patched["first_name"], patched["city"], patched["tags"]) == ("Марко", "Луцьк", ["vip"])


def test_list_filters_by_tag_and_paginates(crm: Crm):
    page = crm.get("/api/contacts", params={"tag": "vip", "per_page": 1})
    assert page.status_code == 200 and len(page.json()["data"]) == 1 and page.json()["pagination"]["total"] >= 2
    assert 'rel="next"' in page.headers["link"]


def test_bad_input_is_400_in_the_envelope_never_500(crm: Crm):
    for path, body in [("/api/contacts", {"email": "not-an-email"}), ("/api/contacts", {"email": _email(), "x": 1}),
                       ("/api/contacts/by-email/nope", {})]:
        resp = crm.post(path, json=body) if path == "/api/contacts" else crm.put(path, json=body)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR", (path, resp.text)
    assert crm.get("/api/contacts/003notarealcontact").status_code == 404
    assert crm.get("/api/contacts/42").status_code == 400


def test_an_activity_with_an_external_id_is_recorded_once(crm: Crm):
    contact = crm.post("/api/contacts", json={"email": _email()}).json()
    body = {"type": "email_opened", "subject": "Відкрив лист «Весна»", "external_id": "mc-open-1"}
    first = crm.post(f"/api/contacts/{contact['id']}/activities", json=body)
    again = crm.post(f"/api/contacts/{contact['id']}/activities", json=body)
    assert (first.status_code, again.status_code) == (201, 200) and again.json()["id"] == first.json()["id"]
    assert [a["type"] for a in crm.get(f"/api/contacts/{contact['id']}/activities").json()] == ["email_opened"]
