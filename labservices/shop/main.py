"""The shop service: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import Depends, FastAPI

from labservices.common import create_app
from labservices.common.declaration import Instance
from labservices.common.openapi import document_security
from labservices.common.ratelimit import RateLimiter

from . import SERVICE
from .auth import SCHEMES, current_client, optional_client
from .docs import DESCRIPTION, TAGS
from .headers import VersionHeaders
from .routes import customers, oauth, orders, products, sandbox, users, weather
from .settings import Settings
from .store import Store
from .versions import VERSION_ERRORS, api_version, unsupported

RESOURCES = [users.router, customers.router, products.router, orders.router, weather.router]


def build_app(instance: Instance | None = None) -> FastAPI:
    """The shop with its own database; every resource at /api, /api/v1 and /api/v2 (only /api in /docs)."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path("shop"))
    limiter = RateLimiter(settings.rate_limit_per_minute, 60)

    def reset() -> None:
        store.reset()
        limiter.restore()

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     reset=reset, openapi_tags=TAGS, on_stop=[store.db.close])
    app.state.store = store
    app.state.limiter = limiter
    for prefix in ("/api", "/api/v1", "/api/v2"):
        for router in RESOURCES:
            app.include_router(router, prefix=prefix, include_in_schema=prefix == "/api",
                               dependencies=[Depends(api_version)], responses=VERSION_ERRORS)
    app.include_router(sandbox.router)
    app.include_router(oauth.router)
    app.include_router(unsupported)
    app.add_middleware(VersionHeaders)
    document_security(app, SCHEMES, needs=optional_client, required=current_client, rate_limited=True)
    return app
