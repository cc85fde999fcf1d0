"""Passwords and JWT access tokens, one implementation for every service that issues or checks them.

The shop issues tokens to OAuth2 clients, the users service to people who log in, and the gateway
checks the users service's tokens. All use HS256 with a sandbox secret (shown to students on
purpose); verification pins the algorithm, so ``alg: none`` and RS/HS confusion fail, and requires
``exp``, ``iat``, ``iss``, ``aud`` and ``sub``.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from typing import Any

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
ITERATIONS = 20_000  # low on purpose: a sandbox that checks a password on every Basic request


def hash_password(password: str) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex digest>`` (PBKDF2-SHA256 with a per-user salt)."""
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


def issue_token(secret: str, *, issuer: str, audience: str, subject: str, ttl_s: int, **claims: Any) -> str:
    """A signed access token for ``subject`` that lives ``ttl_s`` seconds, with any further claims."""
    now = int(time.time())
    payload = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + ttl_s,
               "jti": secrets.token_hex(8), **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


class InvalidToken(Exception):
    """Why a token was refused, in English: it goes into the ``WWW-Authenticate`` header."""


def verify_token(token: str, secret: str, *, issuer: str, audience: str) -> dict[str, Any]:
    """The token's claims, or InvalidToken saying what is wrong with it."""
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                          options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The access token expired") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidToken(f"The token must be signed with {ALGORITHM}") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("The token signature is invalid") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken(f"The token audience must be {audience}") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidToken(f"The token issuer must be {issuer}") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"The token has no {exc.claim} claim") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidToken("The token is not valid yet") from exc
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # forged claims of the wrong type, numbers past any range, JSON nested past Python's stack
        raise InvalidToken("The token is malformed") from exc


# --- the users service's tokens: issued by users, checked by the gateway (and users itself) -------------

USERS_ISSUER = "integration-lab-users"
USERS_AUDIENCE = "integration-lab"
USERS_SECRET_ENV = "LAB_USERS_JWT_SECRET"
USERS_DEFAULT_SECRET = "users-sandbox-secret-not-for-production"


def users_secret() -> str:
    return os.environ.get(USERS_SECRET_ENV) or USERS_DEFAULT_SECRET


def issue_users_token(subject: str, ttl_s: int, **claims: Any) -> str:
    """An access token from the users service for user ``subject``."""
    return issue_token(users_secret(), issuer=USERS_ISSUER, audience=USERS_AUDIENCE, subject=subject, ttl_s=ttl_s,
                       **claims)


def verify_users_token(token: str) -> dict[str, Any]:
    """The claims of a users-service token, or InvalidToken."""
    return verify_token(token, users_secret(), issuer=USERS_ISSUER, audience=USERS_AUDIENCE)
