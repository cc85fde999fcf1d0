"""JWT access tokens of the OAuth 2.0 client-credentials grant: HS256, signed with the settings' secret.

Verification pins the algorithm (so ``alg: none`` and RS/HS confusion fail), and
requires ``exp``, ``iat``, ``iss``, ``aud`` and ``sub``.
"""
from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

from .settings import OAuthClient, Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


def issue(settings: Settings, client: OAuthClient, scopes: list[str], roles: list[str]) -> tuple[str, int]:
    """A signed access token for ``client`` and how many seconds it lives."""
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": client.client_id,
        "iat": now,
        "exp": now + client.token_ttl_s,
        "jti": secrets.token_hex(8),
        "scope": " ".join(scopes),
        "roles": roles,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), client.token_ttl_s


class InvalidToken(Exception):
    """Why a token was refused, in English: it goes into the ``WWW-Authenticate`` header."""


def verify(settings: Settings, token: str) -> dict[str, Any]:
    """The token's claims, or InvalidToken saying what is wrong with it."""
    try:
        return jwt.decode(
            token, settings.jwt_secret, algorithms=[ALGORITHM],
            audience=settings.jwt_audience, issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The access token expired") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidToken(f"The token must be signed with {ALGORITHM}") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("The token signature is invalid") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken(f"The token audience must be {settings.jwt_audience}") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidToken(f"The token issuer must be {settings.jwt_issuer}") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"The token has no {exc.claim} claim") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidToken("The token is not valid yet") from exc
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # forged claims of the wrong type, numbers past any range, JSON nested past Python's stack
        raise InvalidToken("The token is malformed") from exc
