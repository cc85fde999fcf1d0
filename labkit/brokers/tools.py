"""Small helpers the broker notebooks and checks share: queue depths, a live depth chart, fresh names, restarts.

Messages meant for students are in Ukrainian, like the notebooks.
"""
from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections import deque
from typing import Iterable

import requests

from ..config import lab_home
from ..ukrainian import count


def _rabbitmq():
    from . import RABBITMQ

    return RABBITMQ


def _kafka():
    from . import KAFKA

    return KAFKA


class BrokerUnavailable(RuntimeError):
    """A broker is not reachable; the message says what to do."""


def fresh_name(prefix: str) -> str:
    """``prefix`` plus a random suffix: a queue, exchange or topic no earlier run has touched."""
    return f"{prefix}-{secrets.token_hex(3)}"


def default_vhost() -> str:
    """The virtual host ``labkit.amqp_url()`` names ("/" when it names none), as the grader sets one per notebook."""
    from urllib.parse import unquote, urlsplit

    from ..config import amqp_url

    path = urlsplit(amqp_url()).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def queue_depth(queue: str, vhost: str | None = None) -> dict[str, int]:
    """How many messages wait in ``queue`` (ready), are delivered but not acked (unacked), and its consumers.

    Read from the management API, which refreshes its figures about once a second.
    """
    rabbit = _rabbitmq()
    vhost = vhost or default_vhost()
    try:
        info = rabbit.management.queue(queue, vhost)
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            raise BrokerUnavailable(f"Черги {queue!r} у RabbitMQ немає: спершу оголосіть її (queue_declare).") from None
        raise BrokerUnavailable(f"Management API RabbitMQ відповів помилкою ({exc}); перевірте `lab status`.") from None
    except requests.RequestException:
        raise BrokerUnavailable(f"Management API RabbitMQ не відповідає на {rabbit.management_url}; "
                                "запустіть брокери командою `lab up` і перевірте `lab status`.") from None
    ready = int(info.get("messages_ready") or 0)
    unacked = int(info.get("messages_unacknowledged") or 0)
    return {"ready": ready, "unacked": unacked, "total": ready + unacked, "consumers": int(info.get("consumers") or 0)}


def wait_for_depth(queue: str, *, ready: int | None = None, unacked: int | None = None,
                   timeout: float = 15.0, vhost: str | None = None) -> dict[str, int]:
    """Poll ``queue_depth`` until it shows ``ready``/``unacked`` (the API lags about a second); return the last figures."""
    deadline = time.monotonic() + timeout
    while True:
        depth = queue_depth(queue, vhost)
        if (ready is None or depth["ready"] == ready) and (unacked is None or depth["unacked"] == unacked):
            return depth
        if time.monotonic() > deadline:
            return depth
        time.sleep(0.25)


class QueueWatch:
    """A live chart of queue depths: a bar per queue and a sparkline of its recent history.

    Drawn with an ipywidgets ``HTML`` (no plotting library needed), updated from a
    background thread for ``seconds`` seconds, so the cells below can publish and
    consume while it moves.
    """

    def __init__(self, queues: Iterable[str], seconds: float = 30.0, interval: float = 0.5, vhost: str | None = None) -> None:
        import ipywidgets

        self.queues = list(queues)
        self.seconds = seconds
        self.interval = interval
        self.vhost = vhost
        self.history: dict[str, deque] = {q: deque(maxlen=120) for q in self.queues}
        self.widget = ipywidgets.HTML()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="queue-watch", daemon=True)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def start(self) -> "QueueWatch":
        self.sample()
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)

    def sample(self) -> dict[str, dict[str, int] | None]:
        now = {}
        for queue in self.queues:
            try:
                now[queue] = queue_depth(queue, self.vhost)
            except BrokerUnavailable:
                now[queue] = None
            self.history[queue].append(now[queue]["total"] if now[queue] else 0)
        self.widget.value = self.render(now)
        return now

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self._stop.wait(self.interval) and time.monotonic() < deadline:
            self.sample()
        self.widget.value += "<div style='color:#888;font-size:90%'>спостереження завершено</div>"

    def render(self, now: dict) -> str:
        peak = max([1, *(v for h in self.history.values() for v in h)])
        rows = []
        for queue in self.queues:
            depth = now.get(queue)
            if depth is None:
                rows.append(f"<tr><td><code>{html.escape(queue)}</code></td><td colspan=3>черги немає</td></tr>")
                continue
            ready_w, unacked_w = 200 * depth["ready"] / peak, 200 * depth["unacked"] / peak
            bar = (f"<div style='display:flex;width:200px;height:14px;background:#eee'>"
                   f"<div style='width:{ready_w:.0f}px;background:#0969da'></div>"
                   f"<div style='width:{unacked_w:.0f}px;background:#bf8700'></div></div>")
            rows.append(f"<tr><td><code>{html.escape(queue)}</code></td><td>{bar}</td>"
                        f"<td>{depth['ready']} готові · {depth['unacked']} без ack · {count(depth['consumers'], 'консьюмер', 'консьюмери', 'консьюмерів')}</td>"
                        f"<td>{sparkline(list(self.history[queue]), peak)}</td></tr>")
        legend = ("<small><span style='color:#0969da'>■</span> ready (чекають) "
                  "<span style='color:#bf8700'>■</span> unacked (видані, без підтвердження)</small>")
        return f"<table>{''.join(rows)}</table>{legend}"

    def __repr__(self) -> str:
        last = {q: (list(h)[-1] if h else None) for q, h in self.history.items()}
        return f"QueueWatch({json.dumps(last, ensure_ascii=False)})"


def sparkline(values: list[int], peak: int, width: int = 160, height: int = 30) -> str:
    """An SVG polyline of ``values`` scaled to ``peak``."""
    if len(values) < 2:
        values = (values or [0]) * 2
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (height - 4) * v / peak:.1f}" for i, v in enumerate(values))
    return (f"<svg width='{width}' height='{height}' style='background:#fafafa'>"
            f"<polyline fill='none' stroke='#0969da' stroke-width='1.5' points='{points}'/></svg>")


def watch_queues(queues: Iterable[str] | str, seconds: float = 30.0, interval: float = 0.5) -> QueueWatch:
    """Show a live chart of these queues' depths for ``seconds`` seconds (runs beside the next cells)."""
    if isinstance(queues, str):
        queues = [queues]
    return QueueWatch(queues, seconds=seconds, interval=interval).start()


def kafka_implementation() -> str:
    """Which Kafka answers at ``kafka_bootstrap()``: 'Apache Kafka' or 'Tansu'."""
    impl = _kafka().implementation()
    if impl is None:
        raise BrokerUnavailable(f"Kafka не відповідає на {_kafka().address}; запустіть брокери командою `lab up`.")
    return impl


def restart(name: str = "rabbitmq", timeout: float = 180.0) -> float:
    """Stop a broker that `lab up` started and start it again; returns the seconds it took.

    Shows that durable queues and persistent messages survive a broker restart.
    """
    from ..errors import StackError
    from ..stack import Stack

    comp = {"rabbitmq": _rabbitmq(), "kafka": _kafka()}.get(name)
    if comp is None:
        raise BrokerUnavailable(f"Невідомий брокер {name!r}: можна перезапустити 'rabbitmq' або 'kafka'.")
    if comp.external:
        raise BrokerUnavailable(f"{name} працює поза lab ({comp.address}): перезапустіть його там, де він запущений, "
                                f"наприклад `docker compose restart {name}`.")
    started = time.monotonic()
    stack = Stack(home=lab_home(), components=[comp])
    if name not in stack._read_state()["components"]:
        raise BrokerUnavailable(f"{name} запущено не командою `lab up` з цим LAB_HOME ({stack.home}), "
                                "тож перезапустити його звідси не вийде.")
    try:
        stack.restart(name, timeout=timeout)
    except StackError as exc:
        raise BrokerUnavailable(str(exc)) from None
    return time.monotonic() - started


def new_topic(name: str, partitions: int = 3, timeout: float = 30.0, **configs: str) -> str:
    """Create Kafka topic ``name`` afresh: delete it (and what it held) if it exists, then create it.

    ``configs`` are topic settings with dots as underscores: ``retention_ms="3000"``.
    Makes a notebook section give the same output however often it runs.
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=_kafka().address, client_id="labkit")
    try:
        if name in admin.list_topics():
            admin.delete_topics([name])
        settings = {key.replace("_", "."): str(value) for key, value in configs.items()}
        deadline = time.monotonic() + timeout
        while True:  # a deleted topic's name is free again only once the broker has removed it
            try:
                admin.create_topics([NewTopic(name, partitions, 1, topic_configs=settings)])
                break
            except (TopicAlreadyExistsError, KafkaError):
                if time.monotonic() > deadline:
                    raise BrokerUnavailable(f"Топік {name!r} не вдалося створити наново за {timeout:.0f} с; "
                                            "спробуйте ще раз або виконайте `lab reset`.") from None
                time.sleep(0.3)
    finally:
        admin.close()
    return name
