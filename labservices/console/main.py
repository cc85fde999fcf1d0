"""The lab console: a page (plain HTML and JavaScript, no build step, nothing from a CDN) and its JSON API.

It runs in the host process like every service, so jupyter-server-proxy reaches it at
``<JupyterLab's prefix>/console/`` under Binder; the page asks for everything with relative
URLs, so it works under any prefix. Neither its own requests nor its calls to the services are traced:
the console watches the lab's traffic and must not fill the trace file with its polling.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse

from labservices.common import ApiError, create_app
from labservices.common.declaration import Instance

from . import SERVICE
from .routes import router

STATIC = Path(__file__).parent / "static"
ASSETS = {"console.js": "text/javascript", "console.css": "text/css"}
DESCRIPTION = "The lab at a glance: open `/` in a browser. The JSON API below is what the page polls."


def build_app(instance: Instance | None = None) -> FastAPI:
    """The console: its page, its static files and its API."""
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, routers=[router],
                     traced=False, openapi_tags=[{"name": "Console", "description": "What the console page reads and does."}])

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    # Routes, not a StaticFiles mount: behind the proxy the request's root_path is the proxy's prefix and
    # the path is not (labservices.common.middleware.forwarded_prefix), which a mount would not match.
    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name not in ASSETS:
            raise ApiError(404, "NOT_FOUND", f"The console has no file {name!r}.")
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    return app
