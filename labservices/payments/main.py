"""The payments service: ``uvicorn labservices.payments.main:app``."""
from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from labservices.common import create_app

from .delivery import DeliveryConfig, Worker
from .docs import DESCRIPTION, TAGS
from .flaky import Flaky
from .models import FlakyConfig
from .routes import admin, deliveries, events, github, payment_intents, webhook_endpoints
from .settings import Settings, get_settings
from .store import Store


def build_app(settings: Settings | None = None) -> FastAPI:
    """The payments service with its own database and its delivery worker (started by the lifespan)."""
    settings = settings or get_settings()
    store = Store(settings.database_path("payments"))
    config = DeliveryConfig(settings.retry_time_scale, settings.delivery_timeout_s, list(settings.retry_schedule_s),
                            settings.max_attempts, defaults=(settings.retry_time_scale, settings.delivery_timeout_s))
    flaky = Flaky()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(app.state.worker.run(), name="webhook-worker")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def reset() -> None:
        store.reset()
        config.restore()
        flaky.configure(FlakyConfig())

    app = create_app("payments", title="Integration Lab: Payments and webhooks", description=DESCRIPTION,
                     settings=settings, reset=reset, openapi_tags=TAGS, lifespan=lifespan)
    worker = Worker(store, config, max_in_flight=settings.max_in_flight, poll_interval_s=settings.poll_interval_s,
                    registry=app.state.metrics.registry)
    store.wake = worker.wake
    app.state.store, app.state.worker, app.state.delivery_config, app.state.flaky = store, worker, config, flaky
    for router in (payment_intents.router, webhook_endpoints.router, events.router, deliveries.router,
                   github.router, admin.router):
        app.include_router(router)
    return app


app = build_app()
