"""The event bus as the ex06 checks drive it: fresh exchanges and queues, CloudEvents in and out.

Everything here talks to the RabbitMQ the student's code uses (``ex08.rabbit``: in ``lab grade``
the submission's own virtual host): what a run declares it records, and ``teardown`` deletes.
Publishing waits for the broker's confirms, so a message is in its queues when ``publish``
returns; depths are read with passive declares (exact and immediate); what the student
published is read back from queues the checker binds itself and parsed by the ``cloudevents``
SDK, so an envelope the SDK refuses fails the check that reads it.
"""
from __future__ import annotations

import time
import uuid

import pika
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from ..exercise import CheckFailed, Context, short
from .ex08 import channel, rabbit, ready

STRUCTURED = "application/cloudevents+json"
SOURCE = "/lab-check/ex06"  # the checker's own events
MORE = 20  # messages read beyond those a check waits for: enough to show a flood, never all of it
_FORMAT = JSONFormat()


# --- the broker: what a run declares, publishes and reads ------------------------------------------


def made(ctx: Context) -> dict[str, list[str]]:
    """The queues and exchanges this run declared: ``teardown`` deletes them."""
    return ctx.scratch.setdefault("ex06:made", {"queues": [], "exchanges": []})


def new_exchange(ctx: Context) -> str:
    """A fresh durable topic exchange: the bus of one check (its owner declares it, as lab.events)."""
    rabbit(ctx)  # a stopped broker is the checker's sentence, not the student's exception
    name = ctx.unique("ex06-events")
    made(ctx)["exchanges"].append(name)
    with channel(ctx) as ch:
        ch.exchange_declare(name, "topic", durable=True)
    return name


def listen(ctx: Context, exchange: str, keys=("#",), arguments: dict | None = None) -> str:
    """A queue of the checker's, bound to ``exchange`` with ``keys``: what the student's code published."""
    name = ctx.unique("ex06-seen")
    made(ctx)["queues"].append(name)
    with channel(ctx) as ch:
        ch.queue_declare(name, arguments=arguments)
        for key in keys:
            ch.queue_bind(name, exchange, routing_key=key)
    return name


def inventory_queue(ctx: Context, exchange: str) -> str:
    """Inventory's queue as declare_inventory_queue makes it, declared by the checker (so the consumer's
    checks do not depend on the student's declaration)."""
    name = ctx.unique("ex06-inventory")
    made(ctx)["queues"] += [name, f"{name}.dead"]
    with channel(ctx) as ch:
        ch.queue_declare(f"{name}.dead", durable=True)
        ch.queue_declare(name, durable=True, arguments={"x-dead-letter-exchange": "",
                                                        "x-dead-letter-routing-key": f"{name}.dead"})
        for key in ("OrderCreated", "OrderCancelled"):
            ch.queue_bind(name, exchange, routing_key=key)
    return name


def event(type_: str, data: dict, *, subject: str | None = None, event_id: str | None = None) -> bytes:
    """A structured CloudEvent from the checker, as a relay of the lab's bus publishes it."""
    attributes = {"id": event_id or str(uuid.uuid4()), "source": SOURCE, "type": type_,
                  "subject": subject or str(data.get("order_id") or "none"), "datacontenttype": "application/json"}
    return _FORMAT.write(CloudEvent(attributes, data))


def publish(ctx: Context, exchange: str, messages: list[tuple[str, bytes]]) -> None:
    """(routing key, body) pairs, each confirmed by the broker (so each is in its queues when this returns)."""
    with channel(ctx) as ch:
        ch.confirm_delivery()
        for key, body in messages:
            ch.basic_publish(exchange, key, body, pika.BasicProperties(content_type=STRUCTURED, delivery_mode=2))


def take(ctx: Context, queue: str, wanted: int, wait: float = 3.0, settle: float = 0.3) -> list[tuple]:
    """Messages from ``queue`` as (routing key, properties, body): until ``wanted`` came or ``wait`` passed,
    then whatever else arrives within ``settle`` (so one too many is seen too), at most ``wanted + MORE``."""
    got: list[tuple] = []
    with channel(ctx) as ch:
        deadline = time.monotonic() + wait
        while len(got) < wanted + MORE:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is not None:
                got.append((method.routing_key, props, body))
                continue
            if len(got) >= wanted:
                if settle <= 0:
                    break
                deadline, settle = time.monotonic() + settle, 0
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    return got


def settled(ctx: Context, queue: str, wanted: int, wait: float = 3.0) -> int | None:
    """Messages ready in ``queue`` once it has ``wanted`` (or ``wait`` passed): unacked ones return when the
    student's connection closes."""
    deadline = time.monotonic() + wait
    while (left := ready(ctx, queue)) != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def consumers(ctx: Context, queue: str) -> int:
    with channel(ctx) as ch:
        return ch.queue_declare(queue, passive=True).method.consumer_count


def dead_letters(ctx: Context, queue: str) -> list[tuple[bytes, str | None, int | None]]:
    """(body, x-death reason, x-death count) of every message in ``<queue>.dead``, taken."""
    out = []
    with channel(ctx) as ch:
        while len(out) < MORE and (message := ch.basic_get(f"{queue}.dead", auto_ack=True))[0] is not None:
            deaths = (message[1].headers or {}).get("x-death") or [{}]
            out.append((message[2], deaths[0].get("reason"), deaths[0].get("count")))
    return out


def teardown(ctx: Context) -> None:
    """Delete the run's queues and exchanges (in ``lab grade`` the virtual host goes too)."""
    left = ctx.scratch.get("ex06:made")
    if not left or not (left["queues"] or left["exchanges"]):
        return
    with channel(ctx) as ch:
        for q in left["queues"]:
            ch.queue_delete(q)
        for x in left["exchanges"]:
            ch.exchange_delete(x)


# --- events as the checker reads them ---------------------------------------------------------------


def cloud(body: bytes | str, what: str) -> CloudEvent:
    """The structured CloudEvent in ``body``, read by the cloudevents SDK; the check fails if it is not one."""
    try:
        return _FORMAT.read(None, body)
    except Exception as exc:  # noqa: BLE001 - the SDK raises several kinds: each is the student's envelope
        raise CheckFailed(f"{what}: CloudEvent 1.0 (структурований JSON)",
                          f"{type(exc).__name__}: {short(str(exc), 120)}") from None


def attributes(body: bytes, what: str) -> dict:
    """The event's attributes and its data (under "data"), as the SDK read them."""
    ce = cloud(body, what)
    return {**ce.get_attributes(), "data": ce.get_data()}
