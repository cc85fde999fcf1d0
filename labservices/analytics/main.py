"""Analytics: its app, the read model's queries and the rebuild from Kafka."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ApiError, Database, ServiceSettings, create_app, error_responses
from labservices.common.clock import iso
from labservices.common.declaration import Instance
from labservices.common.events import Event, EventBus, Poison
from labservices.common.events import kafka as event_topic
from labservices.common.events import store as event_store

from . import SERVICE, projection

log = logging.getLogger("labservices.analytics")

DESCRIPTION = """The lecture's Analytics Service as a CQRS read model: statistics built only from events.

Nobody calls analytics to record a sale; it hears every event on the bus and folds it into its own
tables. Its answers therefore lag the truth by as long as its queue does, and then agree with it
(eventual consistency): `GET /api/stats/summary` says how many events it has seen and the time of
the last one. `POST /admin/rebuild` drops the whole read model and replays the event history
from the Kafka topic `lab.events`; `GET /admin/rebuild` shows its progress.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    delay_ms: int = Field(0, ge=0, le=5000, description="A pause before each event, to make the lag visible")


class Summary(BaseModel):
    orders: int
    paid_orders: int
    shipped: int
    cancelled: int
    revenue_uah: float
    events_seen: int = Field(description="Events folded into the read model so far")
    last_event_time: str | None
    lag_s: float | None = Field(description="How old the newest event seen is")


class Day(BaseModel):
    day: str
    orders: int
    revenue_uah: float


class Product(BaseModel):
    sku: str
    title: str | None
    quantity: int
    value_uah: int


@dataclass
class Rebuild:
    status: Literal["idle", "running", "done", "failed"] = "idle"
    events: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: float | None = None
    error: str | None = None


class RebuildPublic(BaseModel):
    status: Literal["idle", "running", "done", "failed"]
    events: int = Field(description="Events replayed from Kafka so far")
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None
    error: str | None


def build_app(instance: Instance | None = None) -> FastAPI:
    """Analytics with its own database (the read model, its inbox) and its bus subscription to everything."""
    settings = Settings.for_instance(instance)
    db = Database(settings.database_path(instance.name if instance else SERVICE.name), projection.SCHEMA)
    bus = EventBus(SERVICE.name, db)
    rebuild = Rebuild()

    @bus.subscribe("#")
    async def fold(event: Event):
        """Every event, into the read model (after the configured pause, to show the lag)."""
        if settings.delay_ms:
            await asyncio.sleep(settings.delay_ms / 1000)
        return lambda tx: projection.apply(tx, event)

    async def replay() -> None:
        started = time.perf_counter()
        try:
            await asyncio.to_thread(_wipe)
            async for event in event_topic.replay():
                await asyncio.to_thread(_fold_once, event)
                rebuild.events += 1
            rebuild.status = "done"
        except Exception as exc:  # noqa: BLE001 - reported, not raised: the request that started it is gone
            rebuild.status, rebuild.error = "failed", f"{type(exc).__name__}: {exc}"[:300]
            log.exception("rebuild failed")
        finally:
            rebuild.finished_at = iso(ms=True)
            rebuild.duration_ms = round((time.perf_counter() - started) * 1000, 1)

    def _wipe() -> None:
        with db.tx() as tx:
            projection.wipe(tx)

    def _fold_once(event: Event) -> None:
        with db.tx() as tx:
            if event_store.seen(tx, event.id):
                return
            try:
                projection.apply(tx, event)
            except Poison:
                return  # the live consumer dead-lettered it too: a replay skips it the same way
            event_store.remember(tx, event)

    router = APIRouter(tags=["Statistics"])

    @router.get("/api/stats/summary", response_model=Summary)
    def get_summary() -> dict:
        """Orders, paid orders, revenue, shipped and cancelled, as far as the events seen tell."""
        with db.tx() as conn:
            found = projection.summary(conn)
        last = found["last_event_time"]
        lag = round(max(0.0, time.time() - datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()), 3) \
            if last else None
        return {**found, "lag_s": lag}

    @router.get("/api/stats/daily", response_model=list[Day])
    def get_daily() -> list[dict]:
        """Orders and revenue per day."""
        with db.tx() as conn:
            return projection.daily(conn)

    @router.get("/api/stats/top-products", response_model=list[Product])
    def get_top_products(limit: Annotated[int, Query(ge=1, le=50)] = 5) -> list[dict]:
        """The most ordered products (cancelled orders left out)."""
        with db.tx() as conn:
            return projection.top_products(conn, limit)

    admin = APIRouter(tags=["Lab"])

    @admin.post("/admin/rebuild", status_code=202, response_model=RebuildPublic, responses=error_responses(409))
    async def start_rebuild() -> dict:
        """Drop the read model and rebuild it by replaying every event from Kafka (progress: GET)."""
        if rebuild.status == "running":
            raise ApiError(409, "REBUILD_RUNNING", "Перебудова вже триває; стежте за нею: GET /admin/rebuild")
        rebuild.__init__(status="running", started_at=iso(ms=True))
        app.state.rebuild_task = asyncio.create_task(replay(), name="analytics-rebuild")
        return asdict(rebuild)

    @admin.get("/admin/rebuild", response_model=RebuildPublic)
    def rebuild_status() -> dict:
        """How far the last rebuild got."""
        return asdict(rebuild)

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router, admin], reset=db.reset, on_stop=[db.close],
                     openapi_tags=[{"name": "Statistics", "description": "The read model's answers."}])
    app.state.store = db
    bus.attach(app)
    return app
