"""The CRM is called as Salesforce is: a client-credentials token first, then Bearer on every call."""
from __future__ import annotations

import time

import requests

from tests.crm.conftest import CLIENT, Crm


def test_the_token_endpoint_issues_a_bearer_jwt_and_says_no_store(crm_url):
    resp = requests.post(f"{crm_url}/services/oauth2/token", data=CLIENT, timeout=10)
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "read write"


def test_a_wrong_secret_is_invalid_client_in_rfc_6749_shape(crm_url):
    resp = requests.post(f"{crm_url}/services/oauth2/token", data={**CLIENT, "client_secret": "nope"}, timeout=10)
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    assert resp.headers["www-authenticate"].startswith('Basic realm="crm"')


def test_no_token_is_401_with_a_bearer_challenge(crm_url):
    resp = requests.get(f"{crm_url}/api/contacts", timeout=10)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "UNAUTHORIZED"
    assert resp.headers["www-authenticate"] == 'Bearer realm="crm"'


def test_the_shops_token_is_not_the_crms(crm_url, shop_url):
    shop = requests.post(f"{shop_url}/oauth/token", data={"grant_type": "client_credentials", "client_id": "my_app",
                                                          "client_secret": "secret123"}, timeout=10).json()
    resp = requests.get(f"{crm_url}/api/contacts", headers={"Authorization": f"Bearer {shop['access_token']}"},
                        timeout=10)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "INVALID_TOKEN"
    assert "signature is invalid" in resp.headers["www-authenticate"]


def test_a_reader_may_read_but_not_write(crm_url):
    reader = Crm(crm_url, {**CLIENT, "client_id": "crm-reader", "client_secret": "reader-secret"})
    assert reader.get("/api/contacts").status_code == 200
    resp = reader.post("/api/contacts", json={"email": "reader@example.com"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "FORBIDDEN"
    assert 'error="insufficient_scope"' in resp.headers["www-authenticate"]


def test_an_expired_token_is_refused_and_a_new_one_works(crm_url):
    short = Crm(crm_url, {**CLIENT, "client_id": "short-lived", "client_secret": "short-secret"})
    assert short.get("/api/contacts").status_code == 200
    time.sleep(6.5)
    expired = short.get("/api/contacts")
    assert expired.status_code == 401 and "expired" in expired.headers["www-authenticate"]
    assert Crm(crm_url, {**CLIENT, "client_id": "short-lived", "client_secret": "short-secret"}).get(
        "/api/contacts").status_code == 200
