"""Standard Webhooks signing, shared by every lab service that sends webhooks (payments, mailer)."""
from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from labservices.common import signing


def test_signature_helpers_match_the_specifications_example():
    # The Standard Webhooks specification's own test vector.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    sig = signing.standard_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing.is_valid_secret(secret) and not signing.is_valid_secret("whsec_abc")
    assert signing.is_valid_secret(signing.new_secret())


def test_signature_headers_verify_with_the_standardwebhooks_library_and_the_lecture_check():
    secret, body, now = signing.new_secret(), b'{"type": "open"}', int(time.time())
    headers = signing.signature_headers([secret], "msg_1", now, body)
    assert Webhook(secret).verify(body, headers) == {"type": "open"}
    assert headers["X-Webhook-Signature"] == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
