"""How the lab's webhook senders (payments, mailer) sign a delivery: the lecture's header, Standard Webhooks', GitHub's.

* ``X-Webhook-Signature: sha256=<hex>``: the lecture's scheme, an HMAC-SHA256 of the raw
  body keyed with the endpoint's secret as written (``whsec_...``), so the lecture's
  ``verify_webhook(payload, signature, secret)`` verifies it as printed.
* ``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``: the Standard
  Webhooks specification (what Svix and the ``standardwebhooks`` library verify); the HMAC
  covers ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded part after ``whsec_``,
  so a replayed request cannot simply be given a fresh timestamp.
* ``X-Hub-Signature-256: sha256=<hex>``: GitHub's, the same computation as the lecture's.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret in Standard Webhooks' form: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key Standard Webhooks derives from ``whsec_<base64>``."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


_B64 = "[A-Za-z0-9+/]"
# whsec_ and base64 of 24 to 64 bytes, as a pattern for /docs: 8-20 whole groups and maybe a padded one
# (24-62 bytes), or 21 whole groups and maybe one byte more (63-64).
SECRET_PATTERN = (f"^whsec_(?:(?:{_B64}{{4}}){{8,20}}(?:{_B64}{{2}}==|{_B64}{{3}}=)?"
                  f"|(?:{_B64}{{4}}){{21}}(?:{_B64}{{2}}==)?)$")


def is_valid_secret(secret: str) -> bool:
    """``whsec_`` followed by base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        return 24 <= len(secret_key(secret)) <= 64
    except (binascii.Error, ValueError):
        return False


def lecture_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, raw body)>``, the lecture's ``X-Webhook-Signature``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, one entry of ``webhook-signature``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()


def signature_headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every signature header of one delivery; ``secrets_`` is the current secret first, then any rolled one.

    While a rolled secret is still valid, ``webhook-signature`` carries one signature per
    secret (space-separated), so receivers can switch keys without missing a delivery.
    """
    current = secrets_[0]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard_signature(s, msg_id, timestamp, body) for s in secrets_),
        "X-Webhook-Signature": lecture_signature(current, body),
    }
