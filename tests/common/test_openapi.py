"""The OpenAPI post-processing of labservices.common.openapi, on the toy service built with create_app."""
from __future__ import annotations

import requests

from labservices.common.errors import ErrorEnvelope, Problem


def test_toy_documents_400_not_422_and_413_for_bodies(toy_url):
    doc = requests.get(f"{toy_url}/openapi.json", timeout=10).json()
    create = doc["paths"]["/api/notes"]["post"]["responses"]
    assert "422" not in create and {"400", "413"} <= set(create)
    listing = doc["paths"]["/api/notes"]["get"]["responses"]
    assert "400" in listing and "413" not in listing  # a query parameter, no body
    assert "400" not in doc["paths"]["/api/crash"]["get"]["responses"]  # no input: nothing to refuse


def test_an_actual_error_matches_the_documented_models(toy_url):
    resp = requests.post(f"{toy_url}/api/notes", json={"text": "", "age": "x"}, timeout=10)
    assert resp.status_code == 400
    envelope = ErrorEnvelope.model_validate(resp.json())
    assert envelope.error.code == "VALIDATION_ERROR" and {d.field for d in envelope.error.details} == {"text", "age"}
    problem = requests.post(f"{toy_url}/api/notes", json={}, headers={"Accept": "application/problem+json"}, timeout=10)
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert Problem.model_validate(problem.json()).status == 400


def test_error_details_leave_out_unset_keys_rather_than_send_null(toy_url):
    resp = requests.get(f"{toy_url}/api/conflict", timeout=10)
    assert resp.json()["error"]["details"] == [{"field": "email", "message": "Зайнято"}]
