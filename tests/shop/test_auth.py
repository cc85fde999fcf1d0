"""Authentication and authorization: API keys, Basic, Bearer JWTs; 401 versus 403."""
from __future__ import annotations

import base64
import time

import jwt
import pytest

from labservices.shop.settings import Settings
from tests.shop.shopapi import ADMIN, MANAGER, READER, error_code, unique

SECRET = Settings.model_fields["jwt_secret"].default
GOOD_CLAIMS = {"iss": "integration-lab-shop", "aud": "shop-api", "sub": "my_app", "scope": "read write", "roles": ["manager"]}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _forged(**changes) -> str:
    now = int(time.time())
    claims = {**GOOD_CLAIMS, "iat": now, "exp": now + 600, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, algorithm="HS256")


def _invalid_token(resp) -> str:
    assert resp.status_code == 401
    assert error_code(resp) == "INVALID_TOKEN"
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge
    return challenge


def test_no_credentials_is_401_with_a_challenge(api):
    resp = api.get("/api/users/12345")
    assert resp.status_code == 401
    assert error_code(resp) == "UNAUTHORIZED"
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="shop"'


def test_api_key_in_the_header(api):
    assert api.get("/api/users", headers={"X-API-Key": "abc123def456"}).status_code == 200


def test_api_key_in_the_query(api):
    resp = api.get("/api/weather", params={"city": "Kyiv", "apikey": "abc123def456"})
    assert resp.status_code == 200


def test_unknown_api_key_is_401(api):
    resp = api.get("/api/users", headers={"X-API-Key": "abc123def457"})
    assert resp.status_code == 401
    assert error_code(resp) == "INVALID_API_KEY"
    assert resp.headers["WWW-Authenticate"].startswith("ApiKey")


def test_basic_auth_with_the_lecture_header(api):
    resp = api.get("/api/users", headers={"Authorization": "Basic dXNlcm5hbWU6cGFzc3dvcmQ="})
    assert resp.status_code == 200


@pytest.mark.parametrize("header", [
    "Basic " + base64.b64encode(b"ivan_petrenko:wrong").decode(),
    "Basic " + base64.b64encode(b"nobody:password").decode(),
    "Basic " + base64.b64encode(b"andriy_tkachenko:andriy-password").decode(),  # an inactive user
    "Basic not-base64!!",
    "Basic " + base64.b64encode(b"\xff\xfe").decode(),
])
def test_bad_basic_credentials_are_401(api, header):
    resp = api.get("/api/users", headers={"Authorization": header})
    assert resp.status_code == 401
    assert error_code(resp) == "INVALID_CREDENTIALS"
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_authorization_scheme_is_401(api):
    resp = api.get("/api/users", headers={"Authorization": "Digest username=ivan"})
    assert resp.status_code == 401
    assert error_code(resp) == "UNAUTHORIZED"


def test_bearer_token_from_the_lecture_client_works(api):
    resp = api.get("/api/users/me", headers=_bearer(api.token()))
    assert resp.status_code == 200
    assert resp.json()["scopes"] == ["read", "write"]


def test_alg_none_token_is_401(api):
    token = jwt.encode({**GOOD_CLAIMS, "iat": int(time.time()), "exp": int(time.time()) + 600}, None, algorithm="none")
    assert "signed with HS256" in _invalid_token(api.get("/api/users/me", headers=_bearer(token)))


def test_token_signed_with_another_secret_is_401(api):
    token = jwt.encode({**GOOD_CLAIMS, "iat": int(time.time()), "exp": int(time.time()) + 600},
                       "someone-elses-secret-of-32-bytes-or-more", algorithm="HS256")
    assert "signature" in _invalid_token(api.get("/api/users/me", headers=_bearer(token)))


def test_tampered_token_is_401(api):
    header, payload, signature = api.token().split(".")
    claims = base64.urlsafe_b64encode(b'{"sub":"my_app","roles":["admin"],"scope":"read write admin"}').decode()
    _invalid_token(api.get("/api/users/me", headers=_bearer(f"{header}.{claims.rstrip('=')}.{signature}")))


@pytest.mark.parametrize("changes, reason", [
    ({"aud": "another-api"}, "audience"),
    ({"iss": "evil-issuer"}, "issuer"),
    ({"exp": int(time.time()) - 60}, "expired"),
    ({"exp": None}, "exp"),
    ({"aud": None}, "aud"),
    ({"iss": None}, "iss"),
    ({"exp": "tomorrow"}, "malformed"),
])
def test_tokens_with_bad_claims_are_401(api, changes, reason):
    challenge = _invalid_token(api.get("/api/users/me", headers=_bearer(_forged(**changes))))
    assert reason in challenge


def test_garbage_bearer_token_is_401(api):
    _invalid_token(api.get("/api/users/me", headers=_bearer("not.a.jwt")))


def test_short_lived_token_expires(api):
    token = api.token("short_lived_app", "short-secret")
    assert api.get("/api/users/me", headers=_bearer(token)).status_code == 200
    time.sleep(6)  # the client's tokens live 5 s
    assert "expired" in _invalid_token(api.get("/api/users/me", headers=_bearer(token)))


def test_reader_may_read_but_not_write(api):
    assert api.get("/api/orders", headers=READER).status_code == 200
    resp = api.patch("/api/orders/98765", json={"status": "paid"}, headers=READER)
    assert resp.status_code == 403
    assert error_code(resp) == "FORBIDDEN"
    assert "WWW-Authenticate" not in resp.headers
    assert api.get("/api/orders/98765", headers=READER).json()["status"] == "pending"


def test_bearer_without_the_scope_is_403_insufficient_scope(api, new_user):
    user = new_user()
    token = api.token("my_app", "secret123", scope="read")
    resp = api.patch(f"/api/users/{user['id']}", json={"city": "Луцьк"}, headers=_bearer(token))
    assert resp.status_code == 403
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert api.get(f"/api/users/{user['id']}", headers=READER).json() == user


def test_admin_only_delete_distinguishes_401_403_and_204(api, new_user):
    user = new_user()
    path = f"/api/users/{user['id']}"
    assert api.delete(path).status_code == 401
    assert api.delete(path, headers=MANAGER).status_code == 403
    assert api.delete(path, auth=("taras_bondarenko", "taras-password")).status_code == 403
    assert api.delete(path, headers=_bearer(api.token("admin_app", "admin-secret"))).status_code == 204


def test_admin_user_with_basic_may_delete(api, new_user):
    user = new_user()
    assert api.delete(f"/api/users/{user['id']}", auth=("olena_kovalenko", "olena-password")).status_code == 204


def test_forged_admin_token_with_the_known_secret_is_accepted(api, new_user):
    """The secret is a sandbox default: whoever knows it can mint tokens, which is the point to teach."""
    user = new_user()
    token = _forged(sub=unique("forger"), roles=["admin"], scope="read write admin")
    assert api.delete(f"/api/users/{user['id']}", headers=_bearer(token)).status_code == 204


def test_a_token_cannot_claim_scopes_its_roles_do_not_grant(api, new_user):
    user = new_user()
    token = _forged(roles=["reader"], scope="read write admin")
    assert api.delete(f"/api/users/{user['id']}", headers=_bearer(token)).status_code == 403


def test_admin_key_passes_every_check(api):
    assert api.get("/api/users/me", headers=ADMIN).json()["scopes"] == ["read", "write", "admin"]


@pytest.mark.parametrize("roles", [5, "admin", {"admin": 1}, None, True, [["admin"]], [1, None, "admin"]])
def test_a_signed_token_with_roles_of_the_wrong_type_grants_nothing(api, roles):
    """Issue 10: a correctly signed JWT whose roles claim was not a list gave 500 (the sandbox's secret is public)."""
    token = _forged(roles=roles) if roles is not None else _forged(roles=None)
    resp = api.get("/api/users/me", headers=_bearer(token))
    assert resp.status_code == 200
    expected = ["admin"] if isinstance(roles, list) and "admin" in roles else []
    assert resp.json()["roles"] == expected
    if not expected:
        assert api.get("/api/users", headers=_bearer(token)).status_code == 403


@pytest.mark.parametrize("claim, value", [
    ("exp", 1e308), ("exp", True), ("iat", "now"), ("nbf", [1]), ("sub", 123), ("sub", {"a": 1}),
    ("aud", 5), ("jti", 7), ("scope", ["read"]),
])
def test_a_signed_token_with_any_claim_of_the_wrong_type_is_401_or_harmless(api, claim, value):
    resp = api.get("/api/users/me", headers=_bearer(_forged(**{claim: value})))
    assert resp.status_code in (200, 401), resp.text
    if resp.status_code == 401:
        assert error_code(resp) == "INVALID_TOKEN"


def test_a_signed_token_nested_past_the_stack_is_401(api):
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(b'{"sub": ' + b"[" * 3000 + b"]" * 3000 + b"}").rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), header + b"." + payload, hashlib.sha256).digest())
    token = (header + b"." + payload + b"." + signature.rstrip(b"=")).decode()
    _invalid_token(api.get("/api/users/me", headers=_bearer(token)))
