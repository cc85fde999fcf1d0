"""The sandbox's extras: its credentials in the open, /docs with every security scheme, seed data on reset."""
from __future__ import annotations

import pytest

from tests.shop.shopapi import MANAGER, READER


def test_credentials_list_every_key_client_and_user(api):
    resp = api.get("/api/credentials")
    assert resp.status_code == 200
    creds = resp.json()
    assert {"key": "abc123def456", "name": "lecture-demo", "role": "reader", "scopes": ["read"],
            "rate_limit": "100000 per 60 s"} in creds["api_keys"]
    assert any(k["key"] == "ratelimit-demo-key" and k["rate_limit"] == "5 per 10 s" for k in creds["api_keys"])
    assert any(c["client_id"] == "my_app" and c["client_secret"] == "secret123" for c in creds["oauth_clients"])
    assert any(u["username"] == "ivan_petrenko" and u["password"] == "ivan-password" for u in creds["users"])
    assert creds["roles"]["admin"] == ["read", "write", "admin"]


def test_listed_credentials_all_work(api):
    creds = api.get("/api/credentials").json()
    for key in creds["api_keys"]:
        assert api.get("/api/users/me", headers={"X-API-Key": key["key"]}).status_code in (200, 429), key
    for client in creds["oauth_clients"]:
        assert api.token(client["client_id"], client["client_secret"])
    for user in creds["users"]:
        expected = 200 if user["active"] else 401
        assert api.get("/api/users/me", auth=(user["username"], user["password"])).status_code == expected, user


def test_openapi_declares_every_security_scheme(api):
    spec = api.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"ApiKeyHeader", "ApiKeyQuery", "Basic", "Bearer", "OAuth2"}
    assert schemes["OAuth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert "/api/users/{user_id}" in spec["paths"] and "/api/v2/users/{user_id}" not in spec["paths"]
    operation = spec["paths"]["/api/users/{user_id}"]["get"]
    assert operation["description"] and {"Bearer": []} in operation["security"]


def test_docs_page_is_served(api):
    resp = api.get("/docs")
    assert resp.status_code == 200 and "swagger" in resp.text.lower()


def test_health_names_the_shop(api):
    assert api.get("/health").json()["service"] == "shop"


def test_seed_has_the_lectures_records(api):
    assert api.get("/api/orders/98765", headers=READER).status_code == 200
    assert api.get("/api/customers/67890", headers=READER).status_code == 200
    assert api.get("/api/products/2").json()["in_stock"] is False


@pytest.fixture
def restored_seed(api):
    """Let one test change seed rows: POST /admin/reset afterwards puts them back.

    Reset also restores the default rate limit, so the module's generous one is set again.
    """
    yield
    assert api.post("/admin/reset").json() == {"status": "reset", "service": "shop"}
    assert api.put("/admin/rate-limit", json={"limit": 100_000, "window_s": 60}).status_code == 200


def test_lecture_delete_of_order_98765_and_reset_brings_it_back(api, restored_seed):
    assert api.delete("/api/orders/98765", headers=MANAGER).status_code == 204
    assert api.get("/api/orders/98765", headers=READER).status_code == 404
    assert api.post("/admin/reset").status_code == 200
    assert api.get("/api/orders/98765", headers=READER).json()["customer_id"] == 67890
