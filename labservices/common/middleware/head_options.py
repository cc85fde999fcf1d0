"""HEAD and OPTIONS for every resource, without a route of their own.

HEAD is answered by the GET route with the body left out (same status and headers, so a
client can check an ETag or a Content-Length cheaply); OPTIONS answers 204 with ``Allow``
listing the methods of the resource the path names. A route that declares HEAD or OPTIONS
itself (the inspector's capture URL takes any method) gets them untouched. Doing this here
rather than with extra routes keeps the route table a third the size, and routing is linear
in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from re import Pattern

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class Resource:
    regex: Pattern
    template: str
    methods: frozenset[str]


def _resources(app) -> list[Resource]:
    """The app's paths in routing order, each with every method some route takes there (cached)."""
    cached = getattr(app.state, "_resources", None)
    if cached is not None:
        return cached
    from ..openapi import api_routes

    order: list[str] = []
    methods: dict[str, set[str]] = {}
    from ..http import NOT_ALLOWED_ROUTE

    routes = [*api_routes(app), *(r for r in app.router.routes if hasattr(r, "path_format") and hasattr(r, "methods"))]
    for route in routes:
        if getattr(route, "name", None) == NOT_ALLOWED_ROUTE:
            continue  # it only refuses: not a method the resource takes
        template = route.path_format
        if template not in methods:
            order.append(template)
            methods[template] = set()
        methods[template] |= set(route.methods or ())
    app.state._resources = [Resource(compile_path(t)[0], t, frozenset(methods[t])) for t in order]
    return app.state._resources


def resource_of(scope: Scope) -> Resource | None:
    """The first resource whose path template matches the request's path, as the router would pick it."""
    path = scope.get("path", "")
    return next((r for r in _resources(scope["app"]) if r.regex.fullmatch(path)), None)


def allowed_methods(scope: Scope) -> list[str]:
    """The methods of the resource the path names: HEAD with GET, OPTIONS with any."""
    resource = resource_of(scope) if "app" in scope else None
    if resource is None:
        return []
    allowed = set(resource.methods) | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed)


class HeadOptionsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        if scope["type"] != "http" or method not in ("HEAD", "OPTIONS") or "app" not in scope:
            await self.app(scope, receive, send)
            return
        resource = resource_of(scope)
        if resource is None or method in resource.methods:
            await self.app(scope, receive, send)  # no such path (404), or the route takes the method itself
            return
        if method == "OPTIONS":
            await send({"type": "http.response.start", "status": 204,
                        "headers": [(b"allow", ", ".join(allowed_methods(scope)).encode())]})
            await send({"type": "http.response.body", "body": b""})
            return
        if "GET" not in resource.methods:
            await self.app(scope, receive, send)  # the router's 405
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        scope["method"] = "GET"  # the server keeps this scope: it must not send the GET's body either
        try:
            await self.app(scope, receive, without_body)
        finally:
            scope["method"] = "HEAD"
