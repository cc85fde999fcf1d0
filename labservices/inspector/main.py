"""The request inspector: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI

from labservices.common import create_app
from labservices.common.declaration import Instance

from . import SERVICE
from .docs import DESCRIPTION, TAGS
from .routes import bins, capture
from .settings import Settings
from .store import Store


def build_app(instance: Instance | None = None) -> FastAPI:
    """The inspector with its own database of bins and captured requests."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path("inspector"))
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     reset=store.reset, openapi_tags=TAGS, routers=[bins.router, capture.router],
                     on_stop=[store.db.close], allowed_hosts=settings.allowed_hosts)
    app.state.store = store
    return app
