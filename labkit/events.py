"""The lab's event bus from a notebook: publish an event, watch one order's events travel, read dead letters.

    from labkit.events import publish, timeline, watch_order, dead_letters, bus_status
    order = requests.post(url("orders") + "/api/orders", json=...).json()
    watch_order(order["order_id"])       # live: which service got which event, when
    timeline(order["order_id"])          # the same, drawn once
    publish("OrderCreated", {...})       # an event of your own, onto the same bus
    dead_letters("inventory")            # events inventory gave up on, and why

The timeline is drawn from the spans every service records when it publishes or consumes an
event (``labkit.traces``), so it shows what really happened, retries and duplicates included.
"""
from __future__ import annotations

import html
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from labservices.common.events.envelope import CONTENT_TYPE, Event

from .config import amqp_url, rabbitmq_management_url, url
from .traces import _query

EXCHANGE = "lab.events"
OUTCOME_MARKS = {"processed": "✓", "duplicate": "=", "retried": "⟳", "dead": "✗", "ignored": "·"}
TYPE_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
SERVICES_ON_THE_BUS = ["orders", "inventory", "billing", "shipping", "notifications", "analytics", "eventlog"]


def publish(type_: str, data: dict[str, Any], subject: str | None = None, *, event_id: str | None = None,
            source: str = "/notebook", routing_key: str | None = None) -> dict:
    """Publish one CloudEvent onto the lab's bus (as a service's relay would) and return it as a dict."""
    import pika

    event = Event(type=type_, source=source, subject=subject or data.get("order_id"), data=data,
                  id=event_id or str(uuid.uuid4()))
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url()))
    try:
        channel = connection.channel()
        channel.exchange_declare(EXCHANGE, "topic", durable=True)
        channel.basic_publish(EXCHANGE, routing_key or type_, event.to_json(),
                              pika.BasicProperties(content_type=CONTENT_TYPE, delivery_mode=2, message_id=event.id,
                                                   type=type_))
    finally:
        connection.close()
    return event.to_dict()


@dataclass
class Step:
    service: str
    action: str  # publish | consume
    type: str
    at_ms: float
    duration_ms: float
    outcome: str
    retries: int


def steps(order_id: str) -> list[Step]:
    """Every publish and consume of events about ``order_id``, in time order, from the spans."""
    rows = _query("SELECT service, name, start_ns, end_ns, attributes FROM spans "
                  "WHERE (name LIKE 'consume %' OR name LIKE 'publish %') AND attributes LIKE ? ORDER BY start_ns",
                  (f'%"lab.subject": "{order_id}"%',))
    if not rows:
        return []
    t0 = rows[0][2]
    out = []
    for service, name, start, end, attributes in rows:
        attrs = json.loads(attributes or "{}")
        action, _, type_ = name.partition(" ")
        outcome = attrs.get("lab.outcome", "published" if action == "publish" else "?")
        out.append(Step(service, action, type_, (start - t0) / 1e6, (end - start) / 1e6, outcome,
                        int(attrs.get("lab.retries", 0) or 0)))
    return out


class Timeline:
    """One order's events drawn as swim lanes: a lane per service, a mark per event it published or consumed."""

    def __init__(self, order_id: str, found: list[Step], status: dict | None = None) -> None:
        self.order_id, self.steps, self.status = order_id, found, status

    @property
    def services(self) -> list[str]:
        seen = [s for s in SERVICES_ON_THE_BUS if any(st.service == s for st in self.steps)]
        return seen + sorted({st.service for st in self.steps} - set(seen))

    def rows(self) -> list[dict]:
        return [vars(s) for s in self.steps]

    def __repr__(self) -> str:
        if not self.steps:
            return f"Order {self.order_id}: no events recorded yet."
        lines = [f"Order {self.order_id}: {len(self.steps)} steps"]
        for s in self.steps:
            mark = OUTCOME_MARKS.get(s.outcome, "→" if s.action == "publish" else "?")
            lines.append(f"  +{s.at_ms:7.1f} ms  {s.service:<13} {s.action:<7} {s.type} {mark}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.steps:
            return f"<p>Подій замовлення <code>{html.escape(self.order_id)}</code> ще не записано.</p>"
        lanes = self.services
        types = list(dict.fromkeys(s.type for s in self.steps))
        colours = {t: TYPE_COLOURS[i % len(TYPE_COLOURS)] for i, t in enumerate(types)}
        span = max(s.at_ms for s in self.steps) or 1.0
        width, lane_h, left = 640, 26, 110
        height = lane_h * len(lanes) + 30
        parts = [f"<svg width='{width + left + 20}' height='{height}' style='font:12px sans-serif'>"]
        for i, lane in enumerate(lanes):
            y = 20 + i * lane_h
            parts.append(f"<text x='4' y='{y + 4}'>{html.escape(lane)}</text>"
                         f"<line x1='{left}' y1='{y}' x2='{left + width}' y2='{y}' stroke='#ddd'/>")
        for s in self.steps:
            x = left + width * s.at_ms / span
            y = 20 + lanes.index(s.service) * lane_h
            shape = (f"<rect x='{x - 5:.1f}' y='{y - 5}' width='10' height='10' fill='{colours[s.type]}'/>"
                     if s.action == "publish" else
                     f"<circle cx='{x:.1f}' cy='{y}' r='6' fill='{colours[s.type]}' "
                     f"stroke='{'#d62728' if s.outcome in ('dead', 'retried') else 'none'}' stroke-width='2'/>")
            tip = f"{s.service} {s.action} {s.type}: {s.outcome} (+{s.at_ms:.0f} мс)"
            parts.append(f"<g><title>{html.escape(tip)}</title>{shape}</g>")
        parts.append(f"<text x='{left}' y='{height - 4}' fill='#888'>0 мс</text>"
                     f"<text x='{left + width - 60}' y='{height - 4}' fill='#888'>{span:.0f} мс</text></svg>")
        legend = " ".join(f"<span style='color:{c}'>●</span> {html.escape(t)}" for t, c in colours.items())
        status = ""
        if self.status:
            status = (f"<p>Замовлення <code>{html.escape(self.order_id[:8])}</code>: стан "
                      f"<b>{html.escape(str(self.status.get('status')))}</b>, версія {self.status.get('version')}</p>")
        return (f"{status}{''.join(parts)}<div><small>■ опубліковано · ● отримано (червона обвідка: повтор або "
                f"dead letter)</small><br><small>{legend}</small></div>")


def timeline(order_id: str) -> Timeline:
    """One order's events, as recorded so far, drawn as swim lanes per service."""
    return Timeline(order_id, steps(order_id), _order_status(order_id))


def _order_status(order_id: str) -> dict | None:
    try:
        resp = requests.get(f"{url('orders')}/api/orders/{order_id}", timeout=2)
    except requests.RequestException:
        return None
    return resp.json() if resp.status_code == 200 else None


class OrderWatch:
    """A timeline that redraws itself for ``seconds`` seconds, while the order travels."""

    def __init__(self, order_id: str, seconds: float = 10.0, interval: float = 0.3) -> None:
        import ipywidgets

        self.order_id, self.seconds, self.interval = order_id, seconds, interval
        self.widget = ipywidgets.HTML()
        self.thread = threading.Thread(target=self._run, name="order-watch", daemon=True)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def start(self) -> "OrderWatch":
        self.widget.value = timeline(self.order_id)._repr_html_()
        self.thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            time.sleep(self.interval)
            self.widget.value = timeline(self.order_id)._repr_html_()

    def __repr__(self) -> str:
        return repr(timeline(self.order_id))


def watch_order(order_id: str, seconds: float = 10.0) -> OrderWatch:
    """Draw an order's events live for ``seconds`` seconds (runs beside the next cells)."""
    return OrderWatch(order_id, seconds).start()


def dead_letters(service: str, limit: int = 20) -> list[dict]:
    """The events ``service`` gave up on (``<service>.events.dead``), with RabbitMQ's reason; left in the queue."""
    from .brokers.rabbitmq import Management

    api = Management.for_url(amqp_url(), rabbitmq_management_url())
    vhost = quote(unquote(urlsplit(amqp_url()).path.lstrip("/")) or "/", safe="")
    resp = requests.post(f"{api.base_url}/api/queues/{vhost}/{service}.events.dead/get", auth=api.auth, timeout=5,
                         json={"count": limit, "ackmode": "ack_requeue_true", "encoding": "auto"})
    if resp.status_code == 404:
        return []
    resp.raise_for_status()
    out = []
    for message in resp.json():
        props = message.get("properties", {})
        death = (props.get("headers", {}).get("x-death") or [{}])[0]
        try:
            event = json.loads(message["payload"])
        except (ValueError, TypeError):
            event = {"raw": str(message.get("payload"))[:200]}
        out.append({"type": event.get("type", "?"), "id": event.get("id"), "subject": event.get("subject"),
                    "reason": death.get("reason"), "retries": props.get("headers", {}).get("x-lab-retries", 0),
                    "event": event})
    return out


def bus_status() -> list[dict]:
    """Each service on the bus: connected, what it subscribes to, its outbox and what it consumed."""
    out = []
    for service in SERVICES_ON_THE_BUS:
        try:
            out.append(requests.get(f"{url(service)}/admin/bus", timeout=2).json())
        except requests.RequestException:
            out.append({"service": service, "connected": False, "last_error": "not answering"})
    return out


def await_order(order_id: str, status: str | tuple[str, ...] = ("shipped", "cancelled"), timeout: float = 30.0) -> dict:
    """The order once it reaches ``status`` (events take a moment to travel); raises after ``timeout`` s."""
    wanted = (status,) if isinstance(status, str) else status
    deadline = time.monotonic() + timeout
    current: dict = {}
    while time.monotonic() < deadline:
        current = _order_status(order_id) or {}
        if current.get("status") in wanted:
            return current
        time.sleep(0.2)
    raise TimeoutError(f"Замовлення {order_id} за {timeout:.0f} с не дійшло до стану {' або '.join(wanted)} "
                       f"(зараз: {current.get('status', 'невідомо')}). Подивіться timeline(order_id) і bus_status().")
