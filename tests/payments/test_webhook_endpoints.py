"""Webhook endpoints: register, read, change, delete; URLs limited to loopback and the lab (SSRF)."""
from __future__ import annotations

import pytest


def test_create_shows_the_secret_once_and_location(pay, receiver):
    resp = pay.post("/api/webhook_endpoints", json={"url": receiver.url, "enabled_events": ["payment_intent.succeeded"],
                                                    "description": "мій магазин"})
    assert resp.status_code == 201
    hook = resp.json()
    assert hook["id"].startswith("we_") and hook["secret"].startswith("whsec_") and hook["status"] == "enabled"
    assert resp.headers["Location"] == f"/api/webhook_endpoints/{hook['id']}"
    shown = pay.get(resp.headers["Location"]).json()
    assert shown["secret"] is None and shown["description"] == "мій магазин"
    assert hook["id"] in [h["id"] for h in pay.get("/api/webhook_endpoints").json()["data"]]
    assert pay.delete(resp.headers["Location"]).status_code == 204
    assert pay.get(resp.headers["Location"]).status_code == 404
    assert pay.delete(resp.headers["Location"]).status_code == 404


def test_patch_changes_only_what_is_sent(pay, endpoint):
    path = f"/api/webhook_endpoints/{endpoint['id']}"
    changed = pay.patch(path, json={"enabled_events": ["pull_request", "pull_request"], "description": "ci"}).json()
    assert changed["enabled_events"] == ["pull_request"] and changed["description"] == "ci"
    assert changed["url"] == endpoint["url"]
    assert pay.patch(path, json={"status": "sleeping"}).status_code == 400
    assert pay.patch(path, json={"url": None}).status_code == 400
    assert pay.patch("/api/webhook_endpoints/we_nothere", json={"status": "disabled"}).status_code == 404


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://192.168.1.1/",
    "https://example.com/webhooks",
    "http://0.0.0.0:8001/",
    "ftp://127.0.0.1/hook",
    "http://user:pass@127.0.0.1:9000/hook",
    "http://127.0.0.1:99999/hook",
    "not a url",
    "http://" + "a" * 2050,
])
def test_urls_outside_loopback_and_the_lab_are_refused(pay, url):
    resp = pay.post("/api/webhook_endpoints", json={"url": url, "enabled_events": ["*"]})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["details"][0]["field"] == "url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x",
                                 "http://127.8.9.10:9/x", "http://jupyterlab:9000/hook", "https://inspector:8003/b/1"])
def test_loopback_and_lab_hosts_are_allowed(pay, url):
    resp = pay.post("/api/webhook_endpoints", json={"url": url, "enabled_events": ["*"]})
    assert resp.status_code == 201, resp.text
    pay.delete(f"/api/webhook_endpoints/{resp.json()['id']}")


def test_patching_to_a_forbidden_url_is_refused(pay, endpoint):
    resp = pay.patch(f"/api/webhook_endpoints/{endpoint['id']}", json={"url": "http://10.1.1.1/"})
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "url"


@pytest.mark.parametrize("body,field", [
    ({"url": "http://127.0.0.1:9/x", "enabled_events": []}, "enabled_events"),
    ({"url": "http://127.0.0.1:9/x", "enabled_events": ["order.created"]}, "enabled_events"),
    ({"url": "http://127.0.0.1:9/x", "enabled_events": ["*"] * 21}, "enabled_events"),
    ({"url": "http://127.0.0.1:9/x", "enabled_events": ["*"], "secret": "hunter2"}, "secret"),
    ({"url": "http://127.0.0.1:9/x", "enabled_events": ["*"], "secret": "whsec_c2hvcnQ="}, "secret"),
    ({"url": "http://127.0.0.1:9/x", "enabled_events": ["*"], "description": "x" * 201}, "description"),
    ({"enabled_events": ["*"]}, "url"),
])
def test_bad_endpoint_input_is_400_naming_the_field(pay, body, field):
    resp = pay.post("/api/webhook_endpoints", json=body)
    assert resp.status_code == 400, resp.text
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


def test_unknown_or_malformed_endpoint_ids(pay):
    assert pay.get("/api/webhook_endpoints/we_nothere").json()["error"]["code"] == "NOT_FOUND"
    assert pay.get("/api/webhook_endpoints/bad id").status_code == 400
    assert pay.get("/api/webhook_endpoints/we_nothere/secret").status_code == 404
    assert pay.post("/api/webhook_endpoints/we_nothere/roll_secret").status_code == 404
    assert pay.post("/api/webhook_endpoints/we_x/roll_secret", json={"expires_in_s": -1}).status_code == 400
