"""The lecture's error envelope, as every service returns it (over real HTTP)."""
import re

import requests

ENVELOPE_KEYS = {"code", "message", "details", "request_id", "timestamp"}


def error_of(resp: requests.Response) -> dict:
    body = resp.json()
    assert set(body) == {"error"}
    assert ENVELOPE_KEYS <= set(body["error"])
    return body["error"]


def test_validation_error_is_400_with_a_detail_per_field(toy_url):
    resp = requests.post(f"{toy_url}/api/notes", json={"text": "", "age": 10})
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["code"] == "VALIDATION_ERROR"
    assert err["message"] == "Некоректні дані запиту"
    fields = {d["field"]: d["message"] for d in err["details"]}
    assert set(fields) == {"text", "age"}
    assert fields["age"] == "Має бути більше 18"


def test_missing_and_unknown_fields_are_named(toy_url):
    resp = requests.post(f"{toy_url}/api/notes", json={"txt": "x"})
    err = error_of(resp)
    assert resp.status_code == 400
    by_field = {d["field"]: d["type"] for d in err["details"]}
    assert by_field == {"text": "missing", "age": "missing", "txt": "extra_forbidden"}


def test_malformed_json_is_400_on_the_body(toy_url):
    resp = requests.post(f"{toy_url}/api/notes", data=b'{"text": ', headers={"Content-Type": "application/json"})
    err = error_of(resp)
    assert resp.status_code == 400
    assert err["details"][0]["field"] == "body"
    assert err["details"][0]["message"].startswith("Некоректний JSON")


def test_query_bounds_are_400_not_422(toy_url):
    resp = requests.get(f"{toy_url}/api/notes", params={"limit": 100000})
    assert resp.status_code == 400
    assert error_of(resp)["details"][0] == {
        "field": "limit", "message": "Має бути не більше 100", "type": "less_than_equal", "location": "query"}


def test_unknown_route_is_404_envelope(toy_url):
    resp = requests.get(f"{toy_url}/api/nothing-here")
    assert resp.status_code == 404
    assert error_of(resp)["code"] == "NOT_FOUND"


def test_wrong_method_is_405_with_allow(toy_url):
    resp = requests.delete(f"{toy_url}/api/notes")
    assert resp.status_code == 405
    assert error_of(resp)["code"] == "METHOD_NOT_ALLOWED"
    assert set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_api_error_keeps_its_code_and_details(toy_url):
    resp = requests.get(f"{toy_url}/api/conflict")
    err = error_of(resp)
    assert resp.status_code == 409
    assert (err["code"], err["details"]) == ("DUPLICATE", [{"field": "email", "message": "Зайнято"}])


def test_unhandled_error_is_500_without_a_stack_trace(toy_url):
    resp = requests.get(f"{toy_url}/api/crash")
    assert resp.status_code == 500
    err = error_of(resp)
    assert err["code"] == "INTERNAL_ERROR"
    assert "secret" not in resp.text and "Traceback" not in resp.text


def test_problem_json_when_the_client_asks(toy_url):
    resp = requests.get(f"{toy_url}/api/conflict", headers={"Accept": "application/problem+json"})
    assert resp.status_code == 409
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == 409 and body["title"] == "Conflict" and body["code"] == "DUPLICATE"
    assert body["detail"] == "Такий запис уже існує"
    assert body["instance"] == "/api/conflict"
    assert body["errors"] == [{"field": "email", "message": "Зайнято"}]


def test_timestamp_is_utc_iso8601(toy_url):
    ts = error_of(requests.get(f"{toy_url}/nope"))["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ts)


def test_oversized_body_is_413_and_stores_nothing(toy_url):
    before = requests.get(f"{toy_url}/api/notes", params={"limit": 100}).json()
    resp = requests.post(f"{toy_url}/api/notes", json={"text": "x" * 10_000, "age": 30})
    assert resp.status_code == 413
    assert error_of(resp)["code"] == "PAYLOAD_TOO_LARGE"
    assert requests.get(f"{toy_url}/api/notes", params={"limit": 100}).json() == before


def test_json_nested_past_the_stack_is_a_validation_error_in_ukrainian(toy_url):
    resp = requests.post(f"{toy_url}/api/notes", data=b"[" * 2000 + b"]" * 2000,
                         headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"][0]["field"] == "body"
    assert error["details"][0]["type"] == "json_invalid"
