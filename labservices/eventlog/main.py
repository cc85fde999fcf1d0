"""The event log: RabbitMQ's events appended to Kafka, like a Kafka Connect source connector, and a browser."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Path, Query
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from labservices.common import ApiError, Database, ServiceSettings, create_app, error_responses
from labservices.common.brokers import kafka_bootstrap
from labservices.common.declaration import Instance
from labservices.common.events import Event, EventBus, Transient
from labservices.common.events import kafka as event_topic

from . import SERVICE

log = logging.getLogger("labservices.eventlog")

DESCRIPTION = """Every event on the bus, kept: appended to the Kafka topic `lab.events` and listed here.

RabbitMQ delivers an event to each subscriber and forgets it. The event log subscribes to all of
them (`#`) and appends each to Kafka, keyed by its subject (an order's events stay in order in
one partition), so the history can be read again from the start: that is how analytics rebuilds
its read model. `GET /api/events` browses the newest events with their Kafka partition and offset.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, type TEXT NOT NULL, source TEXT NOT NULL, subject TEXT, time TEXT NOT NULL,
    body TEXT NOT NULL, partition INTEGER, offset INTEGER, logged_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events(logged_at);
"""
KEEP = 5000


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTLOG_", extra="ignore")


class LoggedEvent(BaseModel):
    event_id: str
    type: str
    source: str
    subject: str | None
    time: str
    partition: int | None
    offset: int | None
    event: dict[str, Any]


class Appender:
    """A Kafka producer kept open; a failure drops it and the event is retried with a fresh one."""

    def __init__(self) -> None:
        self.producer: AIOKafkaProducer | None = None

    async def append(self, event: Event) -> tuple[int, int]:
        try:
            if self.producer is None:
                await event_topic.ensure_topic()
                self.producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap(), acks="all",
                                                 enable_idempotence=True, request_timeout_ms=10_000)
                await self.producer.start()
            message = event.kafka_message()
            meta = await self.producer.send_and_wait(event_topic.topic(), message.value, key=message.key,
                                                     headers=[(k, v) for k, v in message.headers.items()])
            return meta.partition, meta.offset
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            await self.close()
            raise Transient(f"Kafka did not take the event: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self.producer is not None:
            producer, self.producer = self.producer, None
            try:
                await producer.stop()
            except Exception:  # noqa: BLE001 - it is being dropped anyway
                pass


def build_app(instance: Instance | None = None) -> FastAPI:
    """The event log with its own database and its bus subscription to every event."""
    settings = Settings.for_instance(instance)
    db = Database(settings.database_path(instance.name if instance else SERVICE.name), SCHEMA)
    bus = EventBus(SERVICE.name, db)
    appender = Appender()

    @bus.subscribe("#")
    async def append(event: Event):
        """Every event: appended to Kafka first, then kept here with its partition and offset."""
        partition, offset = await appender.append(event)

        def keep(tx) -> None:
            tx.execute("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?,?)",
                       (event.id, event.type, event.source, event.subject, event.time,
                        event.to_json().decode(), partition, offset, time.time()))
            tx.execute("DELETE FROM events WHERE logged_at < (SELECT MIN(logged_at) FROM "
                       "(SELECT logged_at FROM events ORDER BY logged_at DESC LIMIT ?))", (KEEP,))
        return keep

    router = APIRouter(tags=["Events"])

    def logged(row) -> dict:
        return {"event_id": row["event_id"], "type": row["type"], "source": row["source"], "subject": row["subject"],
                "time": row["time"], "partition": row["partition"], "offset": row["offset"],
                "event": json.loads(row["body"])}

    @router.get("/api/events", response_model=list[LoggedEvent])
    def list_events(type: Annotated[str | None, Query(max_length=64, description="e.g. OrderCreated")] = None,
                    subject: Annotated[str | None, Query(max_length=64, description="an order id")] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict]:
        """The newest events on the bus (oldest last), as appended to Kafka."""
        conditions = [(sql, v) for sql, v in (("type = ?", type), ("subject = ?", subject)) if v is not None]
        where = "WHERE " + " AND ".join(sql for sql, _ in conditions) if conditions else ""
        with db.tx() as conn:
            rows = conn.execute(f"SELECT * FROM events {where} ORDER BY logged_at DESC LIMIT ?",
                                [*(v for _, v in conditions), limit]).fetchall()
        return [logged(r) for r in rows]

    @router.get("/api/events/{event_id}", response_model=LoggedEvent, responses=error_responses(404))
    def get_event(event_id: Annotated[str, Path(max_length=64)]) -> dict:
        """One event as it is in Kafka."""
        with db.tx() as conn:
            row = conn.execute("SELECT * FROM events WHERE event_id = ?", (event_id,)).fetchone()
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"Події {event_id} в журналі немає")
        return logged(row)

    @router.get("/api/stats")
    def stats() -> dict:
        """How many events of each type were logged, and to which topic."""
        with db.tx() as conn:
            by_type = {r[0]: r[1] for r in conn.execute("SELECT type, COUNT(*) FROM events GROUP BY type")}
        return {"topic": event_topic.topic(), "logged": sum(by_type.values()), "by_type": by_type}

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router], reset=db.reset, on_stop=[db.close],
                     openapi_tags=[{"name": "Events", "description": "The bus's history, in Kafka."}])
    app.state.store = db
    async def kafka_producer(_app: FastAPI) -> None:
        """Worker: holds nothing but closes the Kafka producer when the service stops."""
        try:
            await asyncio.Event().wait()
        finally:
            await appender.close()

    app.state.workers.append(kafka_producer)
    bus.attach(app)
    return app
