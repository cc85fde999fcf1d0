"""The inspector: catch any request in a bin, read it back, choose the answer, replay it elsewhere."""
from __future__ import annotations

import time

import pytest
import requests

from tests.payments.receiver import Receiver


def test_create_gives_a_url_that_catches_any_method_and_sub_path(ins, bin_):
    assert bin_["url"] == f"{ins.base}/b/{bin_['id']}" and bin_["request_count"] == 0
    first = requests.post(bin_["url"] + "/webhooks/stripe?x=1", json={"type": "payment_intent.succeeded"},
                          headers={"X-Webhook-Signature": "sha256=abc"}, timeout=5)
    assert first.status_code == 200 and first.json() == {"received": True}
    assert first.headers["X-Inspector-Request"] == "1"
    requests.delete(bin_["url"], timeout=5)
    [post, delete] = ins.get(f"/api/bins/{bin_['id']}/requests").json()["data"]
    assert (post["number"], post["method"], post["path"], post["query"]) == (1, "POST", "/webhooks/stripe", "x=1")
    assert post["headers"]["x-webhook-signature"] == "sha256=abc"
    assert post["json"] == {"type": "payment_intent.succeeded"} and post["body_size"] == len(post["body"])
    assert post["received_at"].endswith("Z") and post["client"] == "127.0.0.1"
    assert (delete["method"], delete["path"], delete["body"]) == ("DELETE", "", "")
    assert ins.get(f"/api/bins/{bin_['id']}/requests/1").json()["path"] == "/webhooks/stripe"
    assert ins.get(f"/api/bins/{bin_['id']}").json()["request_count"] == 2


def test_since_gives_only_new_requests(ins, bin_):
    for n in range(3):
        requests.put(bin_["url"], data=f"body {n}", timeout=5)
    newer = ins.get(f"/api/bins/{bin_['id']}/requests", params={"since": 1}).json()["data"]
    assert [r["number"] for r in newer] == [2, 3] and newer[0]["body"] == "body 1" and newer[0]["json"] is None


def test_the_bin_answers_as_it_is_told_to_play_a_failing_receiver(ins, bin_):
    resp = ins.put(f"/api/bins/{bin_['id']}/response", json={"status": 503, "delay_ms": 300, "body": "down",
                                                              "content_type": "text/plain"})
    assert resp.status_code == 200 and resp.json()["response"]["status"] == 503
    started = time.monotonic()
    got = requests.post(bin_["url"], json={}, timeout=5)
    assert got.status_code == 503 and got.text == "down" and got.headers["content-type"].startswith("text/plain")
    assert time.monotonic() - started >= 0.3


def test_a_bin_keeps_only_its_last_requests(ins, bin_):
    for n in range(7):
        requests.post(bin_["url"], data=str(n), timeout=5)
    kept = ins.get(f"/api/bins/{bin_['id']}/requests").json()["data"]
    assert [r["number"] for r in kept] == [3, 4, 5, 6, 7]
    assert ins.get(f"/api/bins/{bin_['id']}/requests/1").status_code == 404
    assert ins.delete(f"/api/bins/{bin_['id']}/requests").status_code == 204
    assert ins.get(f"/api/bins/{bin_['id']}/requests").json()["data"] == []
    requests.post(bin_["url"], data="again", timeout=5)
    assert ins.get(f"/api/bins/{bin_['id']}/requests").json()["data"][0]["number"] == 8


def test_a_large_body_is_cut_and_cannot_be_replayed(ins, bin_):
    requests.post(bin_["url"], data="x" * 5000, timeout=5)
    got = ins.get(f"/api/bins/{bin_['id']}/requests/1").json()
    assert (got["body_size"], len(got["body"]), got["truncated"]) == (5000, 2048, True)
    resp = ins.post(f"/api/bins/{bin_['id']}/requests/1/replay", json={"url": "http://127.0.0.1:9/"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "BODY_TRUNCATED"


def test_replay_sends_the_same_method_headers_and_bytes_elsewhere(ins, bin_):
    requests.post(bin_["url"] + "/hook", data=b'{"id": "evt_1"}',
                  headers={"Content-Type": "application/json", "webhook-id": "evt_1", "X-Webhook-Signature": "sha256=1"},
                  timeout=5)
    target = Receiver().start()
    target.answer(202)
    try:
        resp = ins.post(f"/api/bins/{bin_['id']}/requests/1/replay", json={"url": target.url})
        assert resp.status_code == 200, resp.text
        result = resp.json()
        assert (result["status_code"], result["method"], result["error"]) == (202, "POST", None)
        [got] = target.received
        assert got.body == b'{"id": "evt_1"}' and got.headers["webhook-id"] == "evt_1"
        assert got.headers["x-webhook-signature"] == "sha256=1"
    finally:
        target.stop()


def test_replay_to_a_dead_port_reports_the_error(ins, bin_):
    requests.post(bin_["url"], data="x", timeout=5)
    from labkit.procs import free_port

    result = ins.post(f"/api/bins/{bin_['id']}/requests/1/replay", json={"url": f"http://127.0.0.1:{free_port()}/"}).json()
    assert result["status_code"] is None and "Connect" in result["error"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/", "http://10.0.0.1/", "https://example.com/", "file:///etc/passwd"])
def test_replay_only_to_loopback_and_the_lab(ins, bin_, url):
    requests.post(bin_["url"], data="x", timeout=5)
    resp = ins.post(f"/api/bins/{bin_['id']}/requests/1/replay", json={"url": url})
    assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "url"


def test_payments_delivers_into_a_bin_end_to_end(ins, bin_, pay):
    hook = pay.endpoint(bin_["url"], ["payment_intent.succeeded"])
    try:
        fired = pay.trigger("payment_intent.succeeded")
        from labkit.procs import wait_until

        assert wait_until(lambda: ins.get(f"/api/bins/{bin_['id']}").json()["request_count"] == 1, timeout=5)
        [got] = ins.get(f"/api/bins/{bin_['id']}/requests").json()["data"]
        assert got["headers"]["webhook-id"] == fired["events"][-1]
        assert got["json"]["type"] == "payment_intent.succeeded"
    finally:
        pay.delete(f"/api/webhook_endpoints/{hook['id']}")


@pytest.mark.parametrize("body", [{"status": 99}, {"status": 600}, {"delay_ms": 10_001}, {"body": "x" * 10_001},
                                  {"content_type": "not a type"}, {"surprise": 1}])
def test_bad_responses_are_400(ins, bin_, body):
    resp = ins.put(f"/api/bins/{bin_['id']}/response", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR"


def test_unknown_and_malformed_bins(ins):
    missing = "00000000-0000-0000-0000-000000000000"
    assert requests.post(f"{ins.base}/b/{missing}", data="x", timeout=5).status_code == 404
    assert ins.get(f"/api/bins/{missing}").json()["error"]["code"] == "NOT_FOUND"
    assert ins.get(f"/api/bins/{missing}/requests").status_code == 404
    assert ins.delete(f"/api/bins/{missing}").status_code == 404
    assert ins.get("/api/bins/not-a-bin").status_code == 400
    assert requests.get(f"{ins.base}/b/not-a-bin", timeout=5).status_code == 400
    assert ins.get(f"/api/bins/{missing}/requests/0").status_code == 400
    assert ins.post("/api/bins", json={"name": "x" * 101}).status_code == 400


def test_too_many_bins_is_409_with_what_to_do(ins):
    made = []
    try:
        while True:
            resp = ins.post("/api/bins")
            if resp.status_code != 201:
                break
            made.append(resp.json()["id"])
            assert len(made) <= 30
        assert resp.status_code == 409 and "видаліть" in resp.json()["error"]["message"]
    finally:
        for bin_id in made:
            ins.delete(f"/api/bins/{bin_id}")


def test_lists_every_bin_and_reset_empties_them(tmp_path):
    from tests.conftest import running_service
    from tests.payments.conftest import Pay

    with running_service("inspector", tmp_path) as address:
        ins = Pay(address)
        made = ins.post("/api/bins").json()
        requests.post(made["url"], data="x", timeout=5)
        assert [b["id"] for b in ins.get("/api/bins").json()["data"]] == [made["id"]]
        assert ins.post("/admin/reset").status_code == 200
        assert ins.get("/api/bins").json()["data"] == []


@pytest.mark.parametrize("body", [b"[" * 1000 + b"]" * 1000, b"[" * 100 + b"]" * 100],
                         ids=["past-the-recursion-limit", "deeper-than-shown"])
def test_a_body_made_to_break_the_parser_is_shown_as_text_and_replays(ins, bin_, body):
    """Issue 10: one deeply nested JSON body made the bin's list, view and replay answer 500."""
    assert requests.post(bin_["url"], data=body, headers={"Content-Type": "application/json"}, timeout=5).ok
    listed = ins.get(f"/api/bins/{bin_['id']}/requests")
    assert listed.status_code == 200
    [captured] = listed.json()["data"]
    assert captured["body"] == body.decode() and captured["json"] is None and not captured["truncated"]
    assert ins.get(f"/api/bins/{bin_['id']}/requests/1").json()["body_size"] == len(body)
    target = Receiver().start()
    try:
        resp = ins.post(f"/api/bins/{bin_['id']}/requests/1/replay", json={"url": target.url})
        assert resp.status_code == 200 and resp.json()["status_code"] == 200
        assert target.wait_for(1)[0].body == body
    finally:
        target.stop()


def test_json_nested_within_the_limit_is_parsed_huge_numbers_too(ins, bin_):
    body = {"a": [[[{"b": [1, 2, {"c": None}]}]]], "n": 10**1500}
    requests.post(bin_["url"], json=body, timeout=5)
    assert ins.get(f"/api/bins/{bin_['id']}/requests/1").json()["json"] == body


def test_docs_say_where_a_replay_may_go(ins):
    description = ins.get("/openapi.json").json()["info"]["description"]
    assert "loopback" in description and "127.0.0.1" in description
