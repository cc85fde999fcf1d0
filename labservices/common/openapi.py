"""What a service's OpenAPI document says beyond what FastAPI infers from its routes.

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


def document_security(app: FastAPI, schemes: list[SecurityBase], needs: Callable) -> None:
    """Declare ``schemes``, and require any of them on every operation that depends on ``needs``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for scheme in schemes:
            components[scheme.scheme_name] = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        requirement = [{scheme.scheme_name: []} for scheme in schemes]
        for route in api_routes(app):
            if route.include_in_schema and depends_on(route.dependant, needs):
                for method in route.methods:
                    operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation["security"] = requirement
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
