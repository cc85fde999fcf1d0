"""OAuth 2.0 client credentials shared by the shop and the CRM: tokens signed, verified, refused for a reason."""
from __future__ import annotations

import time

import jwt
import pytest

from labservices.common.oauth import (InvalidToken, OAuthClient, OAuthFailure, TokenIssuer, find_client,
                                      granted_scopes)

ISSUER = TokenIssuer("a-test-secret-that-is-long-enough-for-hs256", "lab-test", "test-api")
CLIENT = OAuthClient(client_id="app", client_secret="s3cret", role="integration", token_ttl_s=60)


def test_an_issued_token_verifies_with_its_claims():
    token, ttl = ISSUER.issue(CLIENT, ["read", "write"], ["integration"])
    claims = ISSUER.verify(token)
    assert ttl == 60 and claims["sub"] == "app" and claims["scope"] == "read write"
    assert claims["roles"] == ["integration"] and claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize("forge, reason", [
    (lambda c: jwt.encode(c, "another-secret-that-is-long-enough-for-hs256", "HS256"), "signature is invalid"),
    (lambda c: jwt.encode({**c, "exp": int(time.time()) - 5}, ISSUER.secret, "HS256"), "expired"),
    (lambda c: jwt.encode({**c, "aud": "shop-api"}, ISSUER.secret, "HS256"), "audience must be test-api"),
    (lambda c: jwt.encode({**c, "iss": "someone"}, ISSUER.secret, "HS256"), "issuer must be lab-test"),
    (lambda c: jwt.encode({k: v for k, v in c.items() if k != "sub"}, ISSUER.secret, "HS256"), "no sub claim"),
    (lambda c: jwt.encode(c, None, "none"), "must be signed with HS256"),
    (lambda c: "not.a.token", "malformed"),
])
def test_a_forged_or_stale_token_is_refused_with_its_reason(forge, reason):
    now = int(time.time())
    claims = {"iss": "lab-test", "aud": "test-api", "sub": "app", "iat": now, "exp": now + 60}
    with pytest.raises(InvalidToken, match=reason):
        ISSUER.verify(forge(claims))


def test_clients_are_found_by_id_and_secret_only():
    assert find_client([CLIENT], "app", "s3cret") is CLIENT
    with pytest.raises(OAuthFailure) as wrong:
        find_client([CLIENT], "app", "s3cret!")
    assert (wrong.value.status, wrong.value.error) == (401, "invalid_client")


def test_scopes_are_the_allowed_ones_or_a_subset_asked_for():
    assert granted_scopes(["read", "write"], None) == ["read", "write"]
    assert granted_scopes(["read", "write"], "write") == ["write"]
    with pytest.raises(OAuthFailure) as wider:
        granted_scopes(["read"], "read admin")
    assert (wider.value.status, wider.value.error) == (400, "invalid_scope")
