"""LiqPay's signature, as its documentation gives it: ``base64(sha1(private_key + data + private_key))``.

LiqPay (PrivatBank's payment gateway) posts a form with two fields to the shop's ``server_url``:
``data``, the payment as base64 of a JSON object, and ``signature``. The shop recomputes the
signature with its private key and compares; only then does it decode ``data`` and believe it.
The same function signs the checkout form a shop sends its customer to LiqPay with.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any


def encode(params: dict[str, Any]) -> str:
    """``data``: base64 of the JSON object."""
    return base64.b64encode(json.dumps(params, ensure_ascii=False).encode()).decode()


def signature(private_key: str, data: str) -> str:
    """``signature``: base64 of the SHA-1 digest of private key + data + private key."""
    return base64.b64encode(hashlib.sha1((private_key + data + private_key).encode()).digest()).decode()


def verify(private_key: str, data: str, sent: str) -> bool:
    """True when ``sent`` is the signature of ``data`` (compared in constant time)."""
    return hmac.compare_digest(signature(private_key, data).encode(), sent.strip().encode())


def decode(data: str) -> dict[str, Any]:
    """The payment ``data`` carries; ValueError when it is not base64 of a JSON object."""
    try:
        params = json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError("data must be base64 of a JSON object") from exc
    if not isinstance(params, dict):
        raise ValueError("data must be base64 of a JSON object")
    return params
