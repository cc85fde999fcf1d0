"""Behind a path-prefix proxy (jupyter-server-proxy under Binder or JupyterHub), ``/docs`` still works.

The proxy serves a service at ``/user/<name>/shop/`` and passes it ``/docs``; Swagger UI then asks
for ``/openapi.json`` at the site's root, which is JupyterHub's, not ours. jupyter-server-proxy
says where it mounted the service in ``X-Forwarded-Prefix``; making that the request's ASGI
``root_path`` is what FastAPI reads to write ``/user/<name>/shop/openapi.json`` into the page and
the same prefix into the document's ``servers`` (so "Try it out" goes through the proxy too).
The prefix varies per request (every student's server has its own), so it cannot be a setting
of the one host process; routing is unchanged, since Starlette routes a path that does not start
with ``root_path`` as it is.
"""
from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-forwarded-prefix"
# A plain absolute path: the value ends up inside the docs page's HTML and JavaScript.
SAFE_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~%@+-]+)+")


def forwarded_prefix(scope: Scope) -> str:
    """The path prefix a proxy put this request under, or "" (absent, or not a plain path)."""
    for key, value in scope.get("headers", ()):
        if key == HEADER:
            prefix = value.decode("latin-1").strip().rstrip("/")
            return prefix if SAFE_PREFIX.fullmatch(prefix) else ""
    return ""


class ForwardedPrefixMiddleware:
    """Sets ``root_path`` from ``X-Forwarded-Prefix`` (when the server did not set one itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            prefix = forwarded_prefix(scope)
            if prefix:
                scope = {**scope, "root_path": prefix}
        await self.app(scope, receive, send)
