"""The payments service: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI

from labservices.common import create_app
from labservices.common.declaration import Instance

from . import SERVICE
from .delivery import DeliveryConfig, Worker
from .docs import DESCRIPTION, TAGS
from .flaky import Flaky
from .models import FlakyConfig
from .routes import admin, deliveries, events, github, payment_intents, refunds, webhook_endpoints
from .settings import Settings
from .store import Store

DELIVERY_QUEUE = "webhook_deliveries"  # the queue label of its depth and delay metrics


async def send_webhooks(app: FastAPI) -> None:
    """The delivery worker: sends due webhooks from the outbox and retries failures."""
    await app.state.worker.run()


def build_app(instance: Instance | None = None) -> FastAPI:
    """The payments service with its own database and its delivery worker."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path("payments"))
    config = DeliveryConfig(settings.retry_time_scale, settings.delivery_timeout_s, list(settings.retry_schedule_s),
                            settings.max_attempts, defaults=(settings.retry_time_scale, settings.delivery_timeout_s))
    flaky = Flaky()

    def reset() -> None:
        store.reset()
        config.restore()
        flaky.configure(FlakyConfig())

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     reset=reset, openapi_tags=TAGS, workers=[send_webhooks], on_stop=[store.db.close],
                     allowed_hosts=settings.allowed_hosts,
                     routers=[payment_intents.router, refunds.router, webhook_endpoints.router, events.router, deliveries.router,
                              github.router, admin.router])
    worker = Worker(store, config, app.state.client, max_in_flight=settings.max_in_flight,
                    poll_interval_s=settings.poll_interval_s, registry=app.state.metrics.registry,
                    delays=app.state.metrics.processing_delay(DELIVERY_QUEUE))
    # Read at each scrape of /metrics (a sync handler, so off the event loop).
    app.state.metrics.queue_depth(DELIVERY_QUEUE).set_function(store.pending_count)
    store.wake = worker.wake
    app.state.store, app.state.worker, app.state.delivery_config, app.state.flaky = store, worker, config, flaky
    return app
