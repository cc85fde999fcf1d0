"""The request inspector: ``uvicorn labservices.inspector.main:app``."""
from __future__ import annotations

from fastapi import FastAPI

from labservices.common import create_app

from .docs import DESCRIPTION, TAGS
from .routes import bins, capture
from .settings import Settings, get_settings
from .store import Store


def build_app(settings: Settings | None = None) -> FastAPI:
    """The inspector with its own database of bins and captured requests."""
    settings = settings or get_settings()
    store = Store(settings.database_path("inspector"))
    app = create_app("inspector", title="Integration Lab: Request inspector", description=DESCRIPTION,
                     settings=settings, reset=store.reset, openapi_tags=TAGS)
    app.state.store = store
    app.include_router(bins.router)
    app.include_router(capture.router)
    return app


app = build_app()
