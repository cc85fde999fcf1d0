"""simulate_attack: what an attacker would send, built from a real event; nothing is stored or retried."""
from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.payments.test_signing import verify_webhook


@pytest.fixture
def quiet_event(pay, endpoint):
    """An event created while the endpoint was disabled: real, but never delivered to it."""
    path = f"/api/webhook_endpoints/{endpoint['id']}"
    pay.patch(path, json={"status": "disabled"})
    event_id = pay.trigger("payment_intent.succeeded")["events"][-1]
    pay.patch(path, json={"status": "enabled"})
    return event_id


def attack(pay, endpoint, event_id, kind, **extra):
    resp = pay.post(f"/api/webhook_endpoints/{endpoint['id']}/simulate_attack",
                    json={"kind": kind, "event_id": event_id, **extra})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_forged_and_tampered_requests_fail_both_verifications(pay, endpoint, receiver, quiet_event):
    for kind in ("forged_signature", "tampered_body"):
        result = attack(pay, endpoint, quiet_event, kind)
        got = receiver.received[-1]
        assert result["accepted"] and result["status_code"] == 200  # the test receiver checks nothing
        with pytest.raises(WebhookVerificationError):
            Webhook(endpoint["secret"]).verify(got.body, got.headers)
        assert not verify_webhook(got.body.decode(), got.headers["x-webhook-signature"], endpoint["secret"])
    assert json.loads(receiver.received[-1].body)["data"]["object"]["amount"] == 500_000


def test_a_stale_replay_is_signed_correctly_but_too_old(pay, endpoint, receiver, quiet_event):
    attack(pay, endpoint, quiet_event, "stale_replay", age_s=600)
    got = receiver.received[-1]
    assert abs(int(got.headers["webhook-timestamp"]) - (time.time() - 600)) < 5
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert verify_webhook(got.body.decode(), got.headers["x-webhook-signature"], endpoint["secret"])


def test_a_retimestamped_replay_passes_the_lectures_check_but_not_standard_webhooks(pay, endpoint, receiver,
                                                                                     quiet_event):
    attack(pay, endpoint, quiet_event, "retimestamped_replay")
    got = receiver.received[-1]
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 5
    # The lecture's header signs only the body, so a fresh timestamp header fools it...
    assert verify_webhook(got.body.decode(), got.headers["x-webhook-signature"], endpoint["secret"])
    # ...Standard Webhooks signs "{id}.{timestamp}.{body}", so it does not.
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(got.body, got.headers)


def test_unsigned_has_no_signature_and_attacks_leave_no_delivery(pay, endpoint, receiver, quiet_event):
    result = attack(pay, endpoint, quiet_event, "unsigned")
    got = receiver.received[-1]
    assert "webhook-signature" not in got.headers and "x-webhook-signature" not in got.headers
    assert "webhook-signature" not in {k.lower() for k in result["sent_headers"]}
    assert pay.deliveries(event_id=quiet_event) == []


def test_attack_reports_what_the_endpoint_answered(pay, endpoint, receiver, quiet_event):
    receiver.answer(401)
    result = attack(pay, endpoint, quiet_event, "forged_signature")
    assert (result["status_code"], result["accepted"]) == (401, False)
    assert result["response_body"] == '{"status": 401}'


def test_bad_attacks(pay, endpoint, quiet_event):
    path = f"/api/webhook_endpoints/{endpoint['id']}/simulate_attack"
    assert pay.post(path, json={"kind": "ddos", "event_id": quiet_event}).status_code == 400
    assert pay.post(path, json={"kind": "stale_replay", "event_id": quiet_event, "age_s": 0}).status_code == 400
    assert pay.post(path, json={"kind": "unsigned", "event_id": "evt_nothere"}).status_code == 404
    assert pay.post("/api/webhook_endpoints/we_nothere/simulate_attack",
                    json={"kind": "unsigned", "event_id": quiet_event}).status_code == 404
