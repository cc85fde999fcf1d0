"""CRM ↔ email marketing: the mailer's signed webhook about an opened email becomes an activity in the CRM, once."""
from __future__ import annotations

import hashlib
import re
import secrets

import requests

from labkit.procs import wait_until
from tests.lab_http import Lab
from tests.middleware.test_workflow import crm

AUTH = ("any", "mc-lab-key-0000-us1")
LIST = "a1b2c3d4e5"


def test_an_opened_campaign_is_recorded_on_the_contact_in_the_crm(lab: Lab):
    hook = lab.post("middleware", "/api/triggers/mailer", json={"list_id": LIST})
    assert hook.status_code == 200, hook.text
    email = f"open{secrets.token_hex(3)}@example.com"
    lab.put("mailer", f"/3.0/lists/{LIST}/members/{hashlib.md5(email.encode()).hexdigest()}", auth=AUTH,
            json={"email_address": email, "merge_fields": {"FNAME": "Ігор"}})
    segment = lab.post("mailer", f"/3.0/lists/{LIST}/segments", auth=AUTH,
                       json={"name": email, "static_segment": [email]}).json()["id"]
    campaign = lab.post("mailer", "/3.0/campaigns", auth=AUTH, json={
        "recipients": {"list_id": LIST, "segment_opts": {"saved_segment_id": segment}},
        "settings": {"subject_line": "Новинки"}}).json()["id"]
    lab.put("mailer", f"/3.0/campaigns/{campaign}/content", auth=AUTH, json={"html": "<p>Привіт!</p>"})
    assert lab.post("mailer", f"/3.0/campaigns/{campaign}/actions/send", auth=AUTH).status_code == 204
    [mail] = lab.get("mailbox", "/api/v1/messages", params={"to": email}).json()["messages"]
    html = lab.get("mailbox", f"/api/v1/message/{mail['ID']}").json()["HTML"]
    requests.get(re.search(r'src="([^"]+\.gif)"', html).group(1), timeout=10)

    def activities() -> list[dict]:
        found = crm(lab, "/api/contacts", email=email)["data"]
        return crm(lab, f"/api/contacts/{found[0]['id']}/activities") if found else []
    assert wait_until(lambda: [a["type"] for a in activities()] == ["email_opened"], timeout=15)
    runs = lab.get("middleware", "/api/executions", params={"workflow": "email-engagement"}).json()
    assert runs[0]["status"] == "success" and [s["name"] for s in runs[0]["steps"]] == ["crm_contact", "crm_activity"]


def test_connecting_twice_subscribes_once_and_a_wrong_signature_is_401(lab: Lab):
    first = lab.post("middleware", "/api/triggers/mailer", json={"list_id": LIST}).json()
    assert lab.post("middleware", "/api/triggers/mailer", json={"list_id": LIST}).json() == first
    hooks = lab.get("mailer", f"/3.0/lists/{LIST}/webhooks", auth=AUTH).json()["webhooks"]
    assert [h["id"] for h in hooks if h["url"].endswith("/webhooks/mailer")] == [first["webhook_id"]]
    resp = lab.post("middleware", "/webhooks/mailer", json={"type": "open", "data": {"email": "x@example.com"}},
                    headers={"webhook-id": "msg_1", "webhook-timestamp": "1700000000", "webhook-signature": "v1,AAAA"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "INVALID_SIGNATURE"
