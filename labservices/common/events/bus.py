"""The lab's event bus: CloudEvents on a durable RabbitMQ topic exchange, used as the lecture writes it.

A service publishes through its outbox and subscribes with a decorator::

    bus = EventBus("inventory", store.db)

    @bus.subscribe("OrderCreated")
    def reserve(tx, event):                 # runs in a worker thread, in one SQLite transaction
        ...                                 # with the inbox row: processed exactly once
        bus.emit(tx, "InventoryReserved", subject=event.subject, data={...})

    app = create_app(...); bus.attach(app)   # the relay and the consumer start with the app

The topology, all durable (``lab.events`` is the exchange every service shares):

* each subscriber has its own queue ``<service>.events``, bound to the event types it handles
  (routing key = the event's type, ``#`` for everything); publishers never know their subscribers;
* a failure that may pass (``Transient``, or any unexpected exception) sends the event to
  ``<queue>.retry.<ms>ms``, a queue whose TTL returns it after 1 s, 5 s, then 15 s (times the
  retry scale); after the last retry, or at once for a ``Poison`` event (not a CloudEvent, bad
  data), the consumer rejects it and RabbitMQ dead-letters it to ``<queue>.dead`` through the
  ``lab.dead`` exchange, with its ``x-death`` header saying why;
* events about one subject (one order) are handled one at a time, in queue order; events about
  different orders are handled side by side (up to ``concurrency``), as Kafka's partitions by key
  do, so a slow call for one order does not hold up the others.

The bus reconnects by itself: stop RabbitMQ and the services keep answering HTTP, their outboxes
fill up; start it and everything pending is published within a second.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import aio_pika
from aio_pika import DeliveryMode, ExchangeType
from aio_pika.abc import AbstractIncomingMessage
from fastapi import APIRouter, FastAPI, Request
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Gauge, Histogram

from .. import tracing
from ..brokers import amqp_url
from ..db import Database
from . import store as event_store
from .envelope import CONTENT_TYPE, Event, Poison, decode

log = logging.getLogger("labservices.events")
# aio-pika leaves a close() coroutine behind when a connection attempt is refused; it is harmless noise.
warnings.filterwarnings("ignore", message="coroutine 'Connection.close' was never awaited", category=RuntimeWarning)

EXCHANGE = "lab.events"
DEAD_EXCHANGE = "lab.dead"
RETRY_DELAYS_S = (1.0, 5.0, 15.0)
RECONNECT_S = 1.0
POLL_S = 0.5

SyncHandler = Callable[[Any, Event], None]
AsyncHandler = Callable[[Event], Awaitable[Callable[[Any], None] | None]]


def exchange_name() -> str:
    return os.environ.get("LAB_EVENTS_EXCHANGE") or EXCHANGE


def retry_scale() -> float:
    """``LAB_EVENT_RETRY_SCALE`` compresses the retry delays (tests use 0.01)."""
    try:
        return max(0.001, float(os.environ.get("LAB_EVENT_RETRY_SCALE") or 1.0))
    except ValueError:
        return 1.0


@dataclass
class Subscription:
    types: tuple[str, ...]
    handler: Callable
    name: str


@dataclass
class Stats:
    connected: bool = False
    published: int = 0
    consumed: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class EventBus:
    """One service's side of the bus: its outbox relay and its subscriptions."""

    def __init__(self, service: str, db: Database, *, prefetch: int = 20, concurrency: int = 8,
                 retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self.service = service
        self.db = db
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.retry_delays_s = retry_delays_s
        self.subscriptions: list[Subscription] = []
        self.stats = Stats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bell: asyncio.Event | None = None
        self._lock = threading.Lock()
        self._metrics: dict[str, Any] = {}
        db.extend(event_store.SCHEMA)

    # --- what services call -----------------------------------------------------------

    @property
    def queue(self) -> str:
        return f"{self.service}.events"

    @property
    def source(self) -> str:
        return f"/lab/{self.service}"

    def subscribe(self, *types: str):
        """Handle events of these types (``"#"``: every event): sync ``fn(tx, event)`` or async ``fn(event)``.

        See ``_dispatch`` for how each kind is made to happen exactly once.
        """
        def register(fn: Callable) -> Callable:
            taken = {t for s in self.subscriptions for t in s.types} & set(types)
            if taken:  # one handler per type: the inbox records an event once, for all of its effects
                raise ValueError(f"{self.service} already handles {', '.join(sorted(taken))}")
            self.subscriptions.append(Subscription(types, fn, fn.__name__))
            return fn
        return register

    def event(self, type_: str, subject: str | None, data: dict, *, event_id: str | None = None) -> Event:
        """A new event from this service (``event_id`` for one that must be the same each time)."""
        extra = {"id": event_id} if event_id else {}
        return Event(type=type_, source=self.source, subject=subject, data=data, **extra)

    def emit(self, tx, type_: str, subject: str | None, data: dict, *, event_id: str | None = None) -> Event:
        """Write an event to the outbox inside the caller's transaction (``tx``); the relay publishes it."""
        return event_store.emit(tx, self.event(type_, subject, data, event_id=event_id))

    def wake(self) -> None:
        """Tell the relay there is something to publish (safe from any thread)."""
        with self._lock:
            loop, bell = self._loop, self._bell
        if loop is not None and bell is not None and not loop.is_closed():
            loop.call_soon_threadsafe(bell.set)

    def attach(self, app: FastAPI) -> None:
        """Start the relay and the consumer with the app, count them in its /metrics, add /admin/bus."""
        app.state.bus = self
        registry = app.state.metrics.registry
        self._metrics = {
            "published": Counter("events_published_total", "Events this service published (broker-confirmed)",
                                 ["type"], registry=registry),
            "consumed": Counter("events_consumed_total", "Events this service received, by outcome",
                                ["type", "outcome"], registry=registry),
            "pending": Gauge("outbox_pending", "Events in the outbox the broker has not confirmed yet",
                             registry=registry),
            "delay": Histogram("event_processing_delay_seconds", "From an event's time to its processing here",
                               buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=registry),
            "connected": Gauge("event_bus_connected", "1 while the service is connected to the bus",
                               registry=registry),
        }
        app.state.workers.append(self.run)
        app.include_router(_bus_router())

    def status(self) -> dict:
        with self.db.tx() as conn:
            outbox = event_store.outbox_counts(conn)
            inbox = conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
        return {"service": self.service, "connected": self.stats.connected, "exchange": exchange_name(),
                "queue": self.queue if self.subscriptions else None,
                "subscribes": sorted({t for s in self.subscriptions for t in s.types}),
                "outbox": outbox, "inbox": inbox, "published": self.stats.published,
                "consumed": dict(self.stats.consumed), "last_error": self.stats.last_error}

    # --- the worker -----------------------------------------------------------------------

    async def run(self, app: FastAPI) -> None:
        """Connect, declare the topology, relay and consume; reconnect a second after any loss."""
        with self._lock:
            self._loop, self._bell = asyncio.get_running_loop(), asyncio.Event()
        try:
            while True:
                try:
                    await self._session()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a lost or unreachable broker: try again soon
                    reason = f"{type(exc).__name__}: {exc}"[:300]
                    if self.stats.connected or self.stats.last_error != reason:
                        log.warning("event bus unavailable (%s); retrying every %.0f s", reason, RECONNECT_S,
                                    extra={"service": self.service})
                    self.stats.last_error = reason
                self._set_connected(False)
                await asyncio.sleep(RECONNECT_S)
        finally:
            with self._lock:
                self._loop = self._bell = None

    def _set_connected(self, value: bool) -> None:
        self.stats.connected = value
        if self._metrics:
            self._metrics["connected"].set(1 if value else 0)

    async def _session(self) -> None:
        connection = await aio_pika.connect(amqp_url(), timeout=5,
                                            client_properties={"connection_name": f"lab:{self.service}"})
        lost = asyncio.get_running_loop().create_future()
        connection.close_callbacks.add(lambda *_: lost.done() or lost.set_result(None))
        try:
            publish_channel = await connection.channel(publisher_confirms=True)
            exchange = await publish_channel.declare_exchange(exchange_name(), ExchangeType.TOPIC, durable=True)
            tasks = [asyncio.create_task(self._relay(exchange), name=f"relay:{self.service}")]
            if self.subscriptions:
                consume_channel = await connection.channel()
                await consume_channel.set_qos(prefetch_count=self.prefetch)
                queue = await self._declare(consume_channel)
                tasks.append(asyncio.create_task(self._consume(queue, consume_channel),
                                                 name=f"consume:{self.service}"))
            self._set_connected(True)
            self.stats.last_error = None
            log.info("connected to the event bus", extra={"service": self.service, "queue": self.queue})
            done, _ = await asyncio.wait([*tasks, lost], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                if task is not lost and task.exception() is not None:
                    raise task.exception()
            raise ConnectionError("the connection to RabbitMQ was closed")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    async def _declare(self, channel) -> aio_pika.abc.AbstractQueue:
        exchange = await channel.declare_exchange(exchange_name(), ExchangeType.TOPIC, durable=True)
        dead = await channel.declare_exchange(DEAD_EXCHANGE, ExchangeType.DIRECT, durable=True)
        queue = await channel.declare_queue(self.queue, durable=True, arguments={
            "x-dead-letter-exchange": DEAD_EXCHANGE, "x-dead-letter-routing-key": self.queue})
        for type_ in sorted({t for s in self.subscriptions for t in s.types}):
            await queue.bind(exchange, routing_key=type_)
        dead_queue = await channel.declare_queue(f"{self.queue}.dead", durable=True)
        await dead_queue.bind(dead, routing_key=self.queue)
        for ms in self._retry_ms():
            await channel.declare_queue(self._retry_queue(ms), durable=True, arguments={
                "x-message-ttl": ms, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": self.queue})
        return queue

    def _retry_ms(self) -> list[int]:
        return [max(1, round(d * retry_scale() * 1000)) for d in self.retry_delays_s]

    def _retry_queue(self, ms: int) -> str:
        return f"{self.queue}.retry.{ms}ms"

    # --- publishing: the outbox relay ---------------------------------------------------------

    async def _relay(self, exchange) -> None:
        tracer = tracing.tracer(self.service)
        while True:
            self._bell.clear()
            rows = await asyncio.to_thread(self._pending)
            for row in rows:
                event = decode(row.body)
                parent = propagate.extract({"traceparent": event.traceparent} if event.traceparent else {})
                with tracer.start_as_current_span(f"publish {row.type}", context=parent, kind=SpanKind.PRODUCER,
                                                  attributes=_span_attributes(event, self.service)):
                    await exchange.publish(
                        aio_pika.Message(row.body, content_type=CONTENT_TYPE, delivery_mode=DeliveryMode.PERSISTENT,
                                         message_id=row.event_id, type=row.type, app_id=self.service,
                                         timestamp=time.time()),
                        routing_key=row.type)
                await asyncio.to_thread(self._mark_sent, [row.seq])
                self.stats.published += 1
                if self._metrics:
                    self._metrics["published"].labels(type=row.type).inc()
            if len(rows) < 100:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._bell.wait(), POLL_S)

    def _pending(self) -> list[event_store.Pending]:
        with self.db.tx() as conn:
            rows = event_store.pending(conn)
            if self._metrics:
                self._metrics["pending"].set(event_store.outbox_counts(conn)["pending"])
            return rows

    def _mark_sent(self, seqs: list[int]) -> None:
        with self.db.tx() as conn:
            event_store.mark_sent(conn, seqs)

    # --- consuming ---------------------------------------------------------------------------

    async def _consume(self, queue, channel) -> None:
        """Handle messages side by side, but one subject's (one order's) strictly in order."""
        default_exchange = channel.default_exchange
        slots = asyncio.Semaphore(self.concurrency)
        last: dict[str, asyncio.Task] = {}  # the latest task of each subject still running
        running: set[asyncio.Task] = set()
        try:
            async with queue.iterator() as messages:
                async for message in messages:
                    await slots.acquire()
                    try:
                        event: Event | Poison = decode(message.body, message.content_type)
                    except Poison as exc:
                        event = exc
                    key = event.subject if isinstance(event, Event) and event.subject else None
                    previous = last.get(key) if key else None
                    task = asyncio.create_task(self._after(previous, message, event, default_exchange))
                    running.add(task)
                    if key:
                        last[key] = task

                    def done(t: asyncio.Task, key=key) -> None:
                        slots.release()
                        running.discard(t)
                        if key and last.get(key) is t:
                            del last[key]
                    task.add_done_callback(done)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _after(self, previous: asyncio.Task | None, message, event, default_exchange) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)  # the same order's earlier event first
        try:
            await self._on_message(message, event, default_exchange)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken channel: the message is redelivered on reconnect
            log.exception("could not settle a message", extra={"service": self.service})

    async def _on_message(self, message: AbstractIncomingMessage, event: "Event | Poison", default_exchange) -> None:
        if isinstance(event, Poison):
            self._count("unknown", "dead")
            log.error("dead-lettered a message that is not a CloudEvent: %s", event,
                      extra={"service": self.service, "message_id": message.message_id})
            await message.reject(requeue=False)
            return
        handlers = [s for s in self.subscriptions if event.type in s.types or "#" in s.types]
        if not handlers:
            self._count(event.type, "ignored")
            await message.ack()
            return
        parent = propagate.extract({"traceparent": event.traceparent} if event.traceparent else {})
        tracer = tracing.tracer(self.service)
        with tracer.start_as_current_span(f"consume {event.type}", context=parent, kind=SpanKind.CONSUMER,
                                          attributes=_span_attributes(event, self.service)) as span:
            retries = int((message.headers or {}).get("x-lab-retries", 0) or 0)
            span.set_attribute("lab.retries", retries)
            try:
                outcome = await self._dispatch(handlers, event)
            except Poison as exc:
                outcome = "dead"
                self._fail(span, event, f"poison: {exc}")
                await message.reject(requeue=False)
            except Exception as exc:  # noqa: BLE001 - Transient or unexpected: retry, then dead-letter
                if retries >= len(self.retry_delays_s):
                    outcome = "dead"
                    self._fail(span, event, f"gave up after {retries} retries: {type(exc).__name__}: {exc}")
                    await message.reject(requeue=False)
                else:
                    outcome = "retried"
                    ms = self._retry_ms()[retries]
                    log.warning("%s failed (%s: %s); retry %d in %d ms", event.type, type(exc).__name__, exc,
                                retries + 1, ms, extra={"service": self.service, "event_id": event.id,
                                                        "subject": event.subject})
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))
                    await default_exchange.publish(
                        aio_pika.Message(message.body, content_type=message.content_type,
                                         delivery_mode=DeliveryMode.PERSISTENT, message_id=message.message_id,
                                         type=message.type, headers={**(message.headers or {}),
                                                                     "x-lab-retries": retries + 1}),
                        routing_key=self._retry_queue(ms))
                    await message.ack()
            else:
                await message.ack()
            span.set_attribute("lab.outcome", outcome)
        self._count(event.type, outcome)
        if outcome == "processed" and self._metrics:
            self._metrics["delay"].observe(max(0.0, time.time() - _epoch(event.time)))
        self.wake()  # a handler may have emitted follow-up events

    def _fail(self, span, event: Event, reason: str) -> None:
        span.set_status(Status(StatusCode.ERROR, reason[:200]))
        log.error("dead-lettered %s %s: %s", event.type, event.id, reason,
                  extra={"service": self.service, "event_id": event.id, "subject": event.subject})

    def _count(self, type_: str, outcome: str) -> None:
        self.stats.consumed[outcome] = self.stats.consumed.get(outcome, 0) + 1
        if self._metrics:
            self._metrics["consumed"].labels(type=type_, outcome=outcome).inc()

    async def _dispatch(self, handlers: list[Subscription], event: Event) -> str:
        """Run the event's handler once: ``processed``, or ``duplicate`` if the inbox already has it.

        A sync handler ``fn(tx, event)`` runs inside the transaction that records the event in the
        inbox. An async handler ``fn(event)`` does its I/O first (calls to other services, which
        must be idempotent: the event may come again if the process dies before the commit) and
        returns what to write, ``commit(tx)`` or None, which runs in that same transaction.
        """
        if await asyncio.to_thread(self._seen, event.id):
            return "duplicate"
        [sub] = handlers  # one handler per type (subscribe checks it)
        if inspect.iscoroutinefunction(sub.handler):
            commit = await sub.handler(event)
        else:
            commit = lambda tx, h=sub.handler: h(tx, event)  # noqa: E731
        await asyncio.to_thread(self._apply, commit, event)
        return "processed"

    def _seen(self, event_id: str) -> bool:
        with self.db.tx() as conn:
            return event_store.seen(conn, event_id)

    def _apply(self, commit: Callable[[Any], Any] | None, event: Event) -> None:
        """``commit(tx)`` and the inbox row in one transaction: the event's effects happen once."""
        with self.db.tx() as conn:
            if event_store.seen(conn, event.id):
                return
            if commit is not None:
                commit(conn)
            event_store.remember(conn, event)


def _epoch(iso_time: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


def _span_attributes(event: Event, service: str) -> dict[str, Any]:
    return {"messaging.system": "rabbitmq", "messaging.destination.name": exchange_name(),
            "messaging.message.id": event.id, "lab.event.type": event.type, "lab.event.source": event.source,
            "lab.subject": event.subject or "", "lab.service": service}


def _bus_router() -> APIRouter:
    router = APIRouter(tags=["Lab"])

    @router.get("/admin/bus")
    def bus_status(request: Request) -> dict:
        """This service on the event bus: connected, its queue and subscriptions, outbox and inbox counts."""
        return request.app.state.bus.status()

    return router
