"""Audiences and members as Mailchimp's API has them: the member id is the MD5 of the lower-cased email."""
from __future__ import annotations

import secrets

from tests.mailer.conftest import LIST, Mailer, md5


def _email() -> str:
    return f"M{secrets.token_hex(3)}@Example.com"


def test_the_api_key_is_basic_with_any_user_name(mailer: Mailer):
    assert mailer.get("/3.0/lists").status_code == 200
    assert mailer.get("/3.0/lists", auth=("whoever", "mc-lab-key-0000-us1")).status_code == 200
    wrong = mailer.get("/3.0/lists", auth=("anystring", "wrong-key"))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "INVALID_API_KEY"
    assert mailer.get("/3.0/lists", auth=None).status_code == 401


def test_put_adds_then_updates_the_member_at_the_md5_of_the_email(mailer: Mailer):
    email = _email()
    first = mailer.put(f"/3.0/lists/{LIST}/members/{md5(email)}", json={
        "email_address": email, "status_if_new": "subscribed", "merge_fields": {"FNAME": "Олена", "CITY": "Львів"}})
    assert first.status_code == 200
    member = first.json()
    assert member["id"] == md5(email) and member["email_address"] == email.lower() and member["status"] == "subscribed"
    again = mailer.put(f"/3.0/lists/{LIST}/members/{md5(email)}", json={
        "email_address": email, "merge_fields": {"LNAME": "Коваленко"}, "tags": ["vip"]}).json()
    assert again["merge_fields"] == {"FNAME": "Олена", "CITY": "Львів", "LNAME": "Коваленко"}
    assert again["tags"] == [{"name": "vip"}] and again["status"] == "subscribed"


def test_a_hash_that_is_not_the_emails_is_refused(mailer: Mailer):
    email = _email()
    resp = mailer.put(f"/3.0/lists/{LIST}/members/{md5('someone@else.com')}", json={"email_address": email})
    assert resp.status_code == 400 and md5(email) in resp.json()["error"]["details"][0]["message"]


def test_post_adds_once_and_answers_member_exists_after(mailer: Mailer):
    email = _email()
    assert mailer.post(f"/3.0/lists/{LIST}/members", json={"email_address": email, "status": "subscribed"}).status_code == 200
    again = mailer.post(f"/3.0/lists/{LIST}/members", json={"email_address": email, "status": "subscribed"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "MEMBER_EXISTS"


def test_tags_are_added_and_removed(mailer: Mailer):
    email = _email()
    mailer.put(f"/3.0/lists/{LIST}/members/{md5(email)}", json={"email_address": email, "tags": ["a"]})
    resp = mailer.post(f"/3.0/lists/{LIST}/members/{md5(email)}/tags",
                       json={"tags": [{"name": "b", "status": "active"}, {"name": "a", "status": "inactive"}]})
    assert resp.status_code == 204
    assert mailer.get(f"/3.0/lists/{LIST}/members/{md5(email)}").json()["tags"] == [{"name": "b"}]


def test_segments_match_tags_and_merge_fields_now(mailer: Mailer):
    city = f"Місто{secrets.token_hex(2)}"
    emails = [_email() for _ in range(3)]
    for i, email in enumerate(emails):
        mailer.put(f"/3.0/lists/{LIST}/members/{md5(email)}", json={
            "email_address": email, "merge_fields": {"CITY": city}, "tags": ["vip"] if i == 0 else []})
    by_city = mailer.post(f"/3.0/lists/{LIST}/segments", json={"name": "З міста", "options": {
        "match": "all", "conditions": [{"field": "merge_fields.CITY", "op": "is", "value": city}]}}).json()
    vip = mailer.post(f"/3.0/lists/{LIST}/segments", json={"name": "VIP з міста", "options": {
        "match": "all", "conditions": [{"field": "merge_fields.CITY", "value": city}, {"field": "tag", "value": "vip"}]}}).json()
    static = mailer.post(f"/3.0/lists/{LIST}/segments", json={"name": "Двоє", "static_segment": emails[1:]}).json()
    assert (by_city["member_count"], vip["member_count"], static["member_count"]) == (3, 1, 2)
    members = mailer.get(f"/3.0/lists/{LIST}/segments/{vip['id']}/members").json()["members"]
    assert [m["email_address"] for m in members] == [emails[0].lower()]


def test_bad_input_is_400_or_404_in_the_envelope(mailer: Mailer):
    assert mailer.get("/3.0/lists/ffffffffff").status_code == 404
    assert mailer.get(f"/3.0/lists/{LIST}/members/{md5('nobody@example.com')}").status_code == 404
    assert mailer.get(f"/3.0/lists/{LIST}/members/not-a-hash").status_code == 400
    both = mailer.post(f"/3.0/lists/{LIST}/segments", json={"name": "x"})
    assert both.status_code == 400 and both.json()["error"]["code"] == "VALIDATION_ERROR"
    assert mailer.post("/3.0/lists", json={"name": "x"}).status_code == 400
