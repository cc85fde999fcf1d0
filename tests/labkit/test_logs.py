"""Following one request id through every service's JSON log: `lab logs --request-id` and ``request_log``."""
from __future__ import annotations

import json
import secrets

import requests

from labkit import cli, config
from labkit.logs import RequestLog, entries, request_log
from tests.monitoring.conftest import lab_env  # noqa: F401  (the session's lab, its addresses in the environment)


def replay_through_the_inspector(request_id: str) -> requests.Response:
    """A call that crosses services: the inspector replays a captured request to the shop."""
    inspector = config.url("inspector")
    made = requests.post(inspector + "/api/bins", json={"name": "logs"}, timeout=10).json()
    requests.post(made["url"], json={"hello": "shop"}, timeout=10)
    resp = requests.post(f"{inspector}/api/bins/{made['id']}/requests/1/replay", json={"url": config.url("shop") + "/api/products"},
                         headers={"X-Request-ID": request_id}, timeout=10)
    assert resp.status_code == 200 and resp.json()["status_code"] == 401  # creating a product needs a key
    return resp


def test_request_log_follows_one_request_across_services_oldest_first(lab_env):
    rid = f"req_follow_{secrets.token_hex(4)}"
    resp = replay_through_the_inspector(rid)
    found = request_log(resp)
    assert isinstance(found, RequestLog) and found.request_id == rid
    assert set(found.services) == {"inspector", "shop"}
    assert all(e["request_id"] == rid for e in found)
    assert [e["ts"] for e in found] == sorted(e["ts"] for e in found)
    call = next(e for e in found if e["service"] == "inspector" and e.get("call_target") == "shop")
    assert call["call_method"] == "POST" and call["call_url"].endswith("/api/products")
    shop = next(e for e in found if e["service"] == "shop")
    assert shop["route"] == "/api/products" and shop["method"] == "POST"
    page = found._repr_html_()
    assert rid in page and "inspector" in page and "call_target" in page


def test_lab_logs_request_id_prints_every_services_lines(lab_env, capsys):
    rid = f"req_cli_{secrets.token_hex(4)}"
    replay_through_the_inspector(rid)
    request_log(rid)  # wait until the lines are written
    assert cli.main(["--home", str(lab_env.home), "logs", "--request-id", rid]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 3 and any(" shop " in line for line in lines) and any(" inspector " in line for line in lines)
    assert cli.main(["--home", str(lab_env.home), "logs", "--request-id", rid, "--json"]) == 0
    parsed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {e["service"] for e in parsed} == {"inspector", "shop"} and all(e["request_id"] == rid for e in parsed)


def test_an_unknown_request_id_is_a_sentence_and_exit_1(lab_env, capsys):
    assert cli.main(["--home", str(lab_env.home), "logs", "--request-id", "req_nobody_ever"]) == 1
    assert "No line in" in capsys.readouterr().err
    assert repr(request_log("req_nobody_ever", wait=0)) == "No log line carries request id req_nobody_ever."


def test_lines_of_other_requests_and_non_json_lines_are_skipped(tmp_path):
    (tmp_path / "shop.log").write_text(
        "--- lab up 2026-01-01 ---\n"
        '{"ts": "2026-01-01T10:00:00.002+00:00", "service": "shop", "level": "INFO", "message": "b", "request_id": "r1"}\n'
        '{"ts": "2026-01-01T10:00:00.003+00:00", "service": "shop", "level": "INFO", "message": "c", "request_id": "r10"}\n'
        "not json r1\n")
    (tmp_path / "payments.log").write_text(
        '{"ts": "2026-01-01T10:00:00.001+00:00", "level": "INFO", "message": "a", "request_id": "r1", "order_id": 7}\n')
    found = RequestLog("r1", entries("r1", tmp_path))
    assert [e["message"] for e in found] == ["a", "b"]
    assert found.services == ["payments", "shop"]  # a line without "service" is named by its file
    assert 'order_id=7' in repr(found)
