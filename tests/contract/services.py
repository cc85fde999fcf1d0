"""What the contract tests need to know about a service beyond its OpenAPI document.

Almost nothing: every declared service is tested from its own ``/openapi.json``. A service
whose operations need a caller documents security schemes there; this module says which
sandbox credentials fill them in (the lab's credentials are public on purpose, e.g. the
shop's ``GET /api/credentials``). A service that documents a scheme missing here fails
``test_every_secured_service_has_credentials`` with a sentence that says what to add.
"""
from __future__ import annotations

# service -> {security scheme name -> schemathesis auth config for it}
CREDENTIALS: dict[str, dict[str, dict[str, str]]] = {
    # the admin key: every operation of the shop, DELETE /api/users/{id} included, is reachable
    "shop": {"ApiKeyHeader": {"api_key": "admin-key-789"}},
    # Mailchimp's way: any user name, the API key as the password
    "mailer": {"Basic": {"username": "contract", "password": "mc-lab-key-0000-us1"}},
}

# Environment for the contract host: limits a few thousand generated requests would hit.
ENVIRONMENT: dict[str, str] = {
    "SHOP_RATE_LIMIT_PER_MINUTE": "1000000",
}

# Services that accept Bearer JWTs: how to sign a token they trust, and the claims of a good one.
# The sandbox's secrets are public on purpose (the shop's default ``jwt_secret``), which is exactly
# why every claim's type must be checked: anyone can sign {"roles": 5}.


def _shop_signer() -> dict:
    from labservices.shop.settings import Settings

    settings = Settings()
    return {"secret": settings.jwt_secret,
            "claims": {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "my_app",
                       "scope": "read write admin", "roles": ["admin"], "jti": "contract"}}


def _crm_signer() -> dict:
    from labservices.crm.settings import Settings

    settings = Settings()
    return {"secret": settings.jwt_secret,
            "claims": {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "lab-middleware",
                       "scope": "read write", "roles": ["integration"], "jti": "contract"}}


def _crm_bearer() -> str:
    """A token of the CRM's own issuing (its sandbox secret is public), good for the whole test run."""
    from labservices.common.auth import issue_token

    signer = _crm_signer()
    claims = {k: v for k, v in signer["claims"].items() if k not in ("iss", "aud", "sub")}
    return issue_token(signer["secret"], issuer=signer["claims"]["iss"], audience=signer["claims"]["aud"],
                       subject=signer["claims"]["sub"], ttl_s=86_400, **claims)


CREDENTIALS["crm"] = {"Bearer": {"bearer": _crm_bearer()}}
JWT_SIGNERS = {"shop": _shop_signer, "crm": _crm_signer}
