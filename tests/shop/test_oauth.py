"""POST /oauth/token: the client-credentials grant and its RFC 6749 errors."""
from __future__ import annotations

import base64

import jwt
import pytest

LECTURE_FORM = "grant_type=client_credentials&client_id=my_app&client_secret=secret123"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _oauth_error(resp, status: int, error: str) -> None:
    assert resp.status_code == status
    body = resp.json()
    assert body["error"] == error and body["error_description"]
    assert body["request_id"] == resp.headers["X-Request-ID"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_lecture_form_returns_a_bearer_token(api):
    resp = api.post("/oauth/token", data=LECTURE_FORM, headers=FORM)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "read write"
    assert resp.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "my_app" and claims["aud"] == "shop-api" and claims["iss"] == "integration-lab-shop"
    assert claims["exp"] - claims["iat"] == 3600 and claims["roles"] == ["manager"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"


def test_client_secret_basic_works(api):
    basic = base64.b64encode(b"my_app:secret123").decode()
    resp = api.post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert resp.status_code == 200
    assert resp.json()["token_type"] == "Bearer"


def test_narrower_scope_can_be_asked_for(api):
    resp = api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "my_app",
                                          "client_secret": "secret123", "scope": "read"})
    assert resp.status_code == 200 and resp.json()["scope"] == "read"


def test_scope_beyond_the_clients_role_is_invalid_scope(api):
    resp = api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "my_app",
                                          "client_secret": "secret123", "scope": "read admin"})
    _oauth_error(resp, 400, "invalid_scope")


@pytest.mark.parametrize("form", [
    {"grant_type": "client_credentials", "client_id": "my_app", "client_secret": "wrong"},
    {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "secret123"},
    {"grant_type": "client_credentials", "client_id": "my_app"},
    {"grant_type": "client_credentials"},
])
def test_bad_client_credentials_are_invalid_client(api, form):
    resp = api.post("/oauth/token", data=form)
    _oauth_error(resp, 401, "invalid_client")
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_missing_grant_type_is_invalid_request(api):
    _oauth_error(api.post("/oauth/token", data={"client_id": "my_app", "client_secret": "secret123"}), 400,
                 "invalid_request")


@pytest.mark.parametrize("grant", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
def test_other_grant_types_are_unsupported(api, grant):
    resp = api.post("/oauth/token", data={"grant_type": grant, "client_id": "my_app", "client_secret": "secret123"})
    _oauth_error(resp, 400, "unsupported_grant_type")


def test_json_body_is_invalid_request(api):
    resp = api.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": "my_app",
                                          "client_secret": "secret123"})
    _oauth_error(resp, 400, "invalid_request")


def test_secret_in_both_header_and_form_is_invalid_request(api):
    basic = base64.b64encode(b"my_app:secret123").decode()
    resp = api.post("/oauth/token", data={"grant_type": "client_credentials", "client_secret": "secret123"},
                    headers={"Authorization": f"Basic {basic}"})
    _oauth_error(resp, 400, "invalid_request")


def test_token_endpoint_accepts_only_post(api):
    resp = api.get("/oauth/token")
    assert resp.status_code == 405
    assert "POST" in resp.headers["Allow"]
