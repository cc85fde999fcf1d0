"""Every delivery verifies with the standardwebhooks library, the lecture's verify_webhook and GitHub's scheme."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from labservices.common import signing


def verify_webhook(payload, signature, secret):
    """The lecture's code, exactly as printed in "Безпека вебхуків"."""
    computed_signature = hmac.new(
        secret.encode(),
        payload.encode(),
        hashlib.sha256
    ).hexdigest()

    return hmac.compare_digest(
        f"sha256={computed_signature}",
        signature
    )


def test_a_real_delivery_verifies_with_the_standardwebhooks_library(pay, endpoint, receiver):
    fired = pay.trigger("payment_intent.succeeded", metadata={"order_id": "6735"})
    got = next(r for r in receiver.wait_for(2) if r.event_id == fired["events"][-1])  # sent at once: any order
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "payment_intent.succeeded"
    assert payload["id"] == got.headers["webhook-id"]
    assert payload["data"]["object"]["metadata"] == {"order_id": "6735"}


def test_a_real_delivery_verifies_with_the_lectures_verify_webhook(pay, endpoint, receiver):
    pay.trigger("payment_intent.created")
    got = receiver.wait_for(1)[0]
    assert verify_webhook(got.body.decode(), got.headers["x-webhook-signature"], endpoint["secret"])
    assert not verify_webhook(got.body.decode() + " ", got.headers["x-webhook-signature"], endpoint["secret"])
    assert not verify_webhook(got.body.decode(), got.headers["x-webhook-signature"], signing.new_secret())


def test_the_library_rejects_a_changed_body_and_another_secret(pay, endpoint, receiver):
    pay.trigger("payment_intent.created")
    got = receiver.wait_for(1)[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(got.body.replace(b"5000", b"5001"), got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(got.body, got.headers)


def test_github_pull_request_carries_githubs_headers_and_the_lectures_payload(pay, receiver):
    hook = pay.endpoint(receiver.url, ["pull_request"])
    resp = pay.post("/api/github/pulls", json={"title": "Fix authentication bug", "user": "developer123",
                                               "head_ref": "fix-auth-bug", "repository": "company/my-project"})
    assert resp.status_code == 201, resp.text
    got = receiver.wait_for(1)[0]
    body = json.loads(got.body)
    assert got.headers["x-github-event"] == "pull_request"
    assert got.headers["x-github-delivery"] and got.headers["x-github-hook-id"] == hook["id"]
    expected = "sha256=" + hmac.new(hook["secret"].encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-hub-signature-256"] == expected == got.headers["x-webhook-signature"]
    assert body["action"] == "opened"
    assert body["pull_request"]["title"] == "Fix authentication bug"
    assert body["pull_request"]["user"] == {"login": "developer123"}
    assert body["pull_request"]["head"]["ref"] == "fix-auth-bug" and len(body["pull_request"]["head"]["sha"]) == 40
    assert body["repository"] == {"name": "my-project", "full_name": "company/my-project",
                                  "owner": {"login": "company"}}
    Webhook(hook["secret"]).verify(got.body, got.headers)
    pay.delete(f"/api/webhook_endpoints/{hook['id']}")


def test_a_rolled_secret_signs_beside_the_new_one_until_it_expires(pay, endpoint, receiver):
    rolled = pay.post(f"/api/webhook_endpoints/{endpoint['id']}/roll_secret", json={"expires_in_s": 3600}).json()
    assert rolled["secret"] != endpoint["secret"] and rolled["rolled_secret_expires_at"]
    pay.trigger("payment_intent.created")
    got = receiver.wait_for(1)[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(rolled["secret"]).verify(got.body, got.headers)
    Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert verify_webhook(got.body.decode(), got.headers["x-webhook-signature"], rolled["secret"])

    now = pay.post(f"/api/webhook_endpoints/{endpoint['id']}/roll_secret", json={"expires_in_s": 0}).json()
    assert now["rolled_secret_expires_at"] is None
    pay.trigger("payment_intent.created")
    got = receiver.wait_for(2)[1]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    Webhook(now["secret"]).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rolled["secret"]).verify(got.body, got.headers)


def test_an_endpoint_may_bring_its_own_secret(pay, receiver):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    hook = pay.endpoint(receiver.url, ["payment_intent.created"], secret=secret)
    assert hook["secret"] == secret
    assert pay.get(f"/api/webhook_endpoints/{hook['id']}/secret").json() == {"secret": secret}
    pay.trigger("payment_intent.created")
    got = receiver.wait_for(1)[0]
    Webhook(secret).verify(got.body, got.headers)
    pay.delete(f"/api/webhook_endpoints/{hook['id']}")
