"""Events in the CloudEvents 1.0 envelope (the ``cloudevents`` SDK), as they travel on the lab's bus.

One event is one JSON document in *structured* mode (``application/cloudevents+json``): what
RabbitMQ carries, what Kafka keeps and what a student reads in a message body::

    {"specversion": "1.0", "id": "0c4d…", "source": "/lab/orders", "type": "OrderCreated",
     "subject": "ord_7Hk2…", "time": "2026-12-01T10:30:45.123Z", "datacontenttype": "application/json",
     "traceparent": "00-…-…-01", "data": {"order_id": "ord_7Hk2…", "items": [...], ...}}

``type`` is the lecture's event name; ``subject`` is what the event is about (an order id), so a
consumer can keep per-order state and Kafka can key by it; ``traceparent`` is the CloudEvents
distributed-tracing extension, so one order is one trace across every service it touched.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from cloudevents.core.bindings import kafka as kafka_binding
from cloudevents.core.bindings import rabbitmq as rabbitmq_binding
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

CONTENT_TYPE = "application/cloudevents+json"
MAX_EVENT_BYTES = 256 * 1024
_FORMAT = JSONFormat()


class Poison(ValueError):
    """An event that can never be processed (not a CloudEvent, wrong data): dead-lettered, not retried."""


class Transient(RuntimeError):
    """A failure that may pass (a service down, a timeout): the event is retried after a delay."""


@dataclass(frozen=True)
class Event:
    """A CloudEvent as the lab's services use it: its attributes as plain fields, its data a dict."""

    type: str
    source: str
    subject: str | None
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=lambda: _now())
    traceparent: str | None = None

    def cloudevent(self) -> CloudEvent:
        attributes = {"specversion": "1.0", "id": self.id, "source": self.source, "type": self.type,
                      "time": _parse_time(self.time), "datacontenttype": "application/json"}
        if self.subject:
            attributes["subject"] = self.subject
        if self.traceparent:
            attributes["traceparent"] = self.traceparent
        return CloudEvent(attributes, self.data)

    def to_json(self) -> bytes:
        """The structured-mode body: the whole envelope as one JSON document."""
        return rabbitmq_binding.to_structured(self.cloudevent(), _FORMAT).body

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.to_json())

    def parse(self, model: type["M"]) -> "M":
        """The data as ``model`` (a tolerant reader: unknown fields ignored); ``Poison`` if it does not fit."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise Poison(f"{self.type} data does not fit: {problems}") from None

    def kafka_message(self) -> kafka_binding.KafkaMessage:
        """For Kafka: keyed by the subject, so one order's events keep their order in one partition."""
        return kafka_binding.to_structured(self.cloudevent(), _FORMAT,
                                           key_mapper=lambda e: (self.subject or self.id).encode())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def decode(body: bytes, content_type: str | None = None) -> Event:
    """A structured CloudEvent from a message body; ``Poison`` for anything else."""
    if len(body) > MAX_EVENT_BYTES:
        raise Poison(f"event larger than {MAX_EVENT_BYTES} bytes")
    try:
        message = rabbitmq_binding.RabbitMQMessage(headers={}, content_type=content_type or CONTENT_TYPE, body=body)
        event = rabbitmq_binding.from_structured(message, _FORMAT)
    except (BaseCloudEventException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise Poison(f"not a CloudEvent: {type(exc).__name__}: {str(exc)[:200]}") from None
    attributes = event.get_attributes()
    data = event.get_data()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Poison("the event's data is not a JSON object")
    when = attributes.get("time")
    return Event(type=str(attributes["type"]), source=str(attributes["source"]),
                 subject=attributes.get("subject"), data=data, id=str(attributes["id"]),
                 time=when.isoformat(timespec="milliseconds").replace("+00:00", "Z") if when else _now(),
                 traceparent=attributes.get("traceparent"))


def stable_id(*parts: object) -> str:
    """An event id that is the same every time the same fact is published (relays may publish twice)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "lab:" + ":".join(map(str, parts))))
