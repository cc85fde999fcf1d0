"""Mailchimp's authentication: HTTP Basic with any user name and the API key as the password (or Bearer key)."""
from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import Request

from labservices.common import ApiError

CHALLENGE = {"WWW-Authenticate": 'Basic realm="mailer"'}


async def api_key(request: Request) -> None:
    """Let the call through when it carries the API key; 401 in the envelope otherwise."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    presented = ""
    if scheme.lower() == "basic":
        try:
            presented = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            presented = ""
    elif scheme.lower() == "bearer":
        presented = value.strip()
    if not presented:
        raise ApiError(401, "UNAUTHORIZED", "Потрібен API-ключ: Basic з будь-яким логіном і ключем як паролем",
                       headers=CHALLENGE)
    if not hmac.compare_digest(presented.encode(), request.app.state.settings.api_key.encode()):
        raise ApiError(401, "INVALID_API_KEY", "Невідомий API-ключ", headers=CHALLENGE)
