"""Every declared service's /docs describes its errors as they are sent (issue 10's "Done when")."""
from __future__ import annotations

import json

import pytest

from labservices.common.errors import ErrorEnvelope, Problem
from labservices.common.openapi import error_schemas, operations

from .documents import openapi_documents

DOCUMENTS = openapi_documents()


@pytest.mark.parametrize("service", list(DOCUMENTS))
def test_no_fastapi_422_anywhere(service):
    doc = DOCUMENTS[service]
    assert "HTTPValidationError" not in json.dumps(doc) and "ValidationError" not in doc["components"]["schemas"]
    for path, method, operation in operations(doc):
        assert "422" not in operation["responses"] or "ErrorEnvelope" in json.dumps(operation["responses"]["422"]), \
            f"{method.upper()} {path}"


@pytest.mark.parametrize("service", list(DOCUMENTS))
def test_every_input_documents_the_400_envelope_and_problem_json(service):
    doc = DOCUMENTS[service]
    for path, method, operation in operations(doc):
        where = f"{service}: {method.upper()} {path}"
        if operation.get("parameters") or operation.get("requestBody"):
            content = operation["responses"]["400"]["content"]
            if "ErrorEnvelope" not in json.dumps(content):
                continue  # an error shape of the operation's own, documented (OAuth's RFC 6749 errors)
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}, where
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}, where
        if operation.get("requestBody"):
            assert "413" in operation["responses"], where
        if any(operation.get("security") or []):
            assert "401" in operation["responses"], where


@pytest.mark.parametrize("service", list(DOCUMENTS))
def test_error_schemas_are_the_models_that_build_the_bodies(service):
    schemas = DOCUMENTS[service]["components"]["schemas"]
    for name, schema in error_schemas().items():
        assert schemas[name] == schema
    assert set(schemas["ErrorEnvelope"]["properties"]) == set(ErrorEnvelope.model_fields)
    assert set(schemas["Problem"]["properties"]) == set(Problem.model_fields)


@pytest.mark.parametrize("service", list(DOCUMENTS))
def test_operation_ids_are_unique(service):
    ids = [op["operationId"] for _, _, op in operations(DOCUMENTS[service])]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("service", list(DOCUMENTS))
def test_patch_bodies_claim_null_only_where_null_is_taken(service):
    """A PATCH field documented as nullable must accept null: the PATCH schemas of every service, field by field."""
    doc = DOCUMENTS[service]
    for path, method, operation in operations(doc):
        if method != "patch" or "requestBody" not in operation:
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for name, prop in doc["components"]["schemas"][ref]["properties"].items():
            nullable = {"type": "null"} in prop.get("anyOf", [])
            model = _model_named(service, ref)
            if model is None:
                continue
            assert nullable == (name in getattr(model, "NULLABLE", frozenset())), f"{service} {ref}.{name}"


def _model_named(service: str, name: str):
    import importlib

    from labservices.common.declaration import declared

    module = importlib.import_module(declared(service).package + ".models")
    return getattr(module, name, None)
