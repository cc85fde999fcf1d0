"""What a service's OpenAPI document says beyond what FastAPI infers from its routes.

``create_app`` calls :func:`install`: the document every service serves at /openapi.json (and
shows at /docs) then describes its errors as they are sent. FastAPI documents a 422
``HTTPValidationError`` on every operation with inputs; a lab service answers 400 with the
lecture's envelope instead, so :func:`document_errors` replaces it, gives every error response
the JSON schemas of the models that build the bodies (``errors.ErrorEnvelope``, and
``errors.Problem`` for ``Accept: application/problem+json``), and adds what every service
answers: 400 wherever there is input, 401 wherever a caller is identified, 413 wherever a body
is read. A route names only its own statuses (``error_responses(404, 409)``).

``document_security`` puts security schemes in /docs (Swagger's «Authorize» button fills them in)
for the operations that need a caller, without making each scheme a dependency that FastAPI would
solve on every request: the service reads its credentials itself, so every failure has the
lecture's envelope, and the documentation costs nothing per request.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase

from .errors import DEFAULT_MESSAGES, PROBLEM_JSON, ErrorEnvelope, Problem, _phrase

Step = Callable[[dict[str, Any]], None]
REF = "#/components/schemas/{model}"
FASTAPI_422 = ("HTTPValidationError", "ValidationError")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
EXAMPLE = {"error": {
    "code": "VALIDATION_ERROR", "message": "Некоректні дані запиту",
    "details": [{"field": "email", "message": "Невірний формат email адреси", "location": "body", "type": "value_error"}],
    "request_id": "req_abc123", "timestamp": "2024-02-08T10:30:45Z"}}


def install(app: FastAPI) -> None:
    """Serve ``app``'s document with the steps added by :func:`add_step`, then :func:`document_errors`."""
    build = app.openapi
    app.state.openapi_steps = []

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        app.openapi_schema = None  # cached only once every step has run
        for step in app.state.openapi_steps:
            step(schema)
        document_errors(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_step(app: FastAPI, step: Step) -> None:
    """Run ``step`` on ``app``'s document when it is first built (before the errors are documented)."""
    app.state.openapi_steps.append(step)


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route of ``app`` with its full path, however its routers were included."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.160 lists included routes flat
        yield from (r for r in app.routes if isinstance(r, APIRoute))
        return
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def depends_on(dependant, call: Callable) -> bool:
    """True when ``call`` is among the dependencies of ``dependant``, however deep."""
    return any(d.call is call or depends_on(d, call) for d in dependant.dependencies)


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of the document."""
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def document_security(app: FastAPI, schemes: list[SecurityBase], needs: Callable, required: Callable | None = None,
                      rate_limited: bool = False) -> None:
    """Declare ``schemes`` on every operation that depends on ``needs`` (the dependency that reads credentials).

    Operations that also depend on ``required`` need a caller; the others take one if it is sent
    (their requirement includes ``{}``, "no credentials"). ``rate_limited``: a caller's requests
    are counted, so those operations may answer 429.
    """
    def step(schema: dict[str, Any]) -> None:
        components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for scheme in schemes:
            components[scheme.scheme_name] = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        requirement = [{scheme.scheme_name: []} for scheme in schemes]
        for route in api_routes(app):
            if route.include_in_schema and depends_on(route.dependant, needs):
                optional = required is not None and not depends_on(route.dependant, required)
                for method in route.methods:
                    operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation["security"] = requirement + ([{}] if optional else [])
                        if rate_limited:
                            operation.setdefault("responses", {}).setdefault("429", {})

    add_step(app, step)


# --- errors ------------------------------------------------------------------------------


def error_schemas() -> dict[str, dict[str, Any]]:
    """Component schemas of the error bodies, from the models that build them."""
    found: dict[str, dict[str, Any]] = {}
    for model in (ErrorEnvelope, Problem):
        schema = model.model_json_schema(ref_template=REF, mode="serialization")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def error_content() -> dict[str, Any]:
    """The media types an error may come in: the envelope, or problem+json when the client asks."""
    return {
        "application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}, "example": EXAMPLE},
        PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}},
    }


def _ensure(responses: dict[str, Any], status: int) -> None:
    responses.setdefault(str(status), {})


def document_errors(schema: dict[str, Any]) -> None:
    """Document every error response as it is sent: the envelope's schemas, 400 not 422, shared statuses."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    seen_ids: dict[str, int] = {}
    for path, method, operation in operations(schema):
        responses = operation.setdefault("responses", {})
        if "HTTPValidationError" in str(responses.get("422", "")):
            del responses["422"]  # FastAPI's; a route's own 422 (a reused Idempotency-Key) stays
        if operation.get("parameters") or operation.get("requestBody"):
            _ensure(responses, 400)  # validation failures: 400 VALIDATION_ERROR, never FastAPI's 422
        if any(operation.get("security") or []):
            _ensure(responses, 401)
        if "requestBody" in operation:
            _ensure(responses, 413)
        for status, response in responses.items():
            if status.isdigit() and int(status) >= 400 and "schema" not in str(response.get("content", {})):
                response["description"] = response.get("description") or DEFAULT_MESSAGES.get(
                    int(status), _phrase(int(status)))
                response["content"] = error_content()
        operation["responses"] = dict(sorted(responses.items()))
        seen_ids[operation.get("operationId", "")] = seen_ids.get(operation.get("operationId", ""), 0) + 1
    _unique_operation_ids(schema, seen_ids)
    for name in FASTAPI_422:
        components.pop(name, None)
    components.update(error_schemas())


def _unique_operation_ids(schema: dict[str, Any], counts: dict[str, int]) -> None:
    """One route serving several methods gets one operationId from FastAPI; give each method its own."""
    for _, method, operation in operations(schema):
        op_id = operation.get("operationId")
        if op_id and counts.get(op_id, 0) > 1:
            stem, _, last = op_id.rpartition("_")
            operation["operationId"] = f"{stem if last in METHODS else op_id}_{method}"
