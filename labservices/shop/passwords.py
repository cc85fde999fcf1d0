"""Password hashing for Basic authentication: PBKDF2-SHA256 with a per-user salt.

The iteration count is low on purpose: this is a sandbox that checks a password on
every Basic request, not a production login page.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

ITERATIONS = 20_000


def hash_password(password: str) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex digest>``."""
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS).hex()
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; constant time in the digest comparison."""
    try:
        _, iterations, salt, digest = (stored or "").split("$")
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations)).hex()
    except ValueError:
        return False
    return hmac.compare_digest(computed, digest)
