"""ex08: RabbitMQ: topic bindings, a worker with manual ack and prefetch 1, poison messages dead-lettered.

Every run names fresh exchanges and queues (``ctx.unique``), calls the student's
functions with those names, and then looks at the broker itself: it publishes and
reads over AMQP, watches queue depths with passive declares (exact and immediate,
unlike the management API's figures, which refresh about once a second) and reads
queue arguments and bindings from the management API. What it declared it deletes.
"""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from urllib.parse import quote

import pika
from pika.exceptions import ChannelClosedByBroker

from labkit import config
from labkit.brokers import RabbitMQSpec
from labkit.brokers.probe import amqp_ready

from ...ukrainian import count
from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, short

# The lecture's keys, and two that tell a right pattern from a near miss (`*` is exactly one word).
KEYS = ["error.payment", "info.auth", "warning.database", "error.database", "info.payment", "error.payment.card"]
ROUTES = {
    "errors": ("error.*", ["error.payment", "error.database"]),
    "payments": ("*.payment", ["error.payment", "info.payment"]),
    "all": ("#", KEYS),
}
WORK_SECONDS = 0.4  # each valid email "takes" this long to send, so the checker can watch the queue meanwhile


def rabbit(ctx: Context) -> RabbitMQSpec:
    """The RabbitMQ the student's code uses (``amqp_url()``); a clear failure when it is not running."""
    if "ex08:rabbit" not in ctx.scratch:
        spec = RabbitMQSpec(ctx.services.get("amqp") or config.amqp_url(),
                            ctx.services.get("rabbitmq-management") or config.rabbitmq_management_url())
        if not amqp_ready(spec.address):
            raise CheckFailed(f"RabbitMQ за адресою {spec.address}", "не відповідає",
                              f"RabbitMQ не відповідає за адресою {spec.address}. Запустіть брокери командою "
                              "`lab up` (або перевірте змінну LAB_AMQP_URL) і запустіть перевірку ще раз.")
        ctx.scratch["ex08:rabbit"] = spec
    return ctx.scratch["ex08:rabbit"]


def vhost(ctx: Context) -> str:
    """The virtual host the student's code works in, as a management API path segment ("%2F" for "/")."""
    return quote(pika.URLParameters(rabbit(ctx).address).virtual_host, safe="")


@contextmanager
def channel(ctx: Context):
    connection = pika.BlockingConnection(pika.URLParameters(rabbit(ctx).address))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def drain(ctx: Context, queue: str, properties: bool = False) -> list | None:
    """Every message waiting in ``queue`` (taken): bodies, or (body, properties) pairs; None when there is no such queue."""
    with channel(ctx) as ch:
        try:
            taken = []
            while (message := ch.basic_get(queue, auto_ack=True))[0] is not None:
                taken.append((message[2], message[1]) if properties else message[2])
            return taken
        except ChannelClosedByBroker:
            return None


def ready(ctx: Context, queue: str) -> int | None:
    """Messages ready in ``queue`` right now (a passive declare), or None when there is no such queue."""
    with channel(ctx) as ch:
        try:
            return ch.queue_declare(queue, passive=True).method.message_count
        except ChannelClosedByBroker:
            return None


def delete(ctx: Context, queues=(), exchanges=()) -> None:
    with channel(ctx) as ch:
        for q in queues:
            ch.queue_delete(q)
        for x in exchanges:
            ch.exchange_delete(x)


def management(ctx: Context, path: str):
    """GET from the management API; None on 404."""
    import requests

    try:
        return rabbit(ctx).management.get(path)
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            return None
        raise


def email(n: int, token: str) -> dict:
    return {"to": f"user{n}-{token}@example.com", "subject": "Order confirmation",
            "body": "Your order has been confirmed", "seconds": WORK_SECONDS}


# --- step 1: topic routing ----------------------------------------------------------------


def routing(ctx: Context) -> dict:
    """Run the student's setup_log_routing once per run; publish every key; what each queue got."""
    if "ex08:routing" not in ctx.scratch:
        rabbit(ctx)  # a stopped broker is the checker's sentence, not the student's exception
        exchange = ctx.unique("logs")
        ctx.call("setup_log_routing", exchange)
        kind = (management(ctx, f"exchanges/{vhost(ctx)}/{quote(exchange, safe='')}") or {}).get("type")
        got: dict = {}
        if kind:
            with channel(ctx) as ch:
                for key in KEYS:
                    ch.basic_publish(exchange, key, key.encode())
            for suffix in ROUTES:
                bodies = drain(ctx, f"{exchange}.{suffix}")
                got[suffix] = None if bodies is None else [b.decode() for b in bodies]
            delete(ctx, [f"{exchange}.{s}" for s in ROUTES], [exchange])
        ctx.scratch["ex08:routing"] = {"exchange": exchange, "type": kind, "got": got}
    return ctx.scratch["ex08:routing"]


def check_topic_exchange(ctx: Context) -> None:
    run = routing(ctx)
    expect(run["type"] == "topic", f"exchange {run['exchange']!r} типу topic",
           f"тип {run['type']}" if run["type"] else "такого exchange немає")


def route_check(suffix: str):
    pattern, wanted = ROUTES[suffix]

    def check(ctx: Context) -> None:
        run = routing(ctx)
        expect(run["type"] == "topic", f"exchange {run['exchange']!r} типу topic", f"тип {run['type']}")
        queue = f"{run['exchange']}.{suffix}"
        got = run["got"].get(suffix)
        expect(got is not None, f"черга {queue!r}, прив'язана з ключем {pattern!r}", "такої черги немає")
        expect_equal(got, wanted, f"черга {queue} ({pattern})")

    return check


# --- step 2: the email worker -----------------------------------------------------------------


class DepthWatch:
    """Samples (ready in queue, consumers, messages in the sent queue) every 50 ms, in a thread."""

    def __init__(self, ctx: Context, queue: str, sent: str) -> None:
        self.samples: list[tuple[int, int, int]] = []
        self._stop = threading.Event()
        self._connection = pika.BlockingConnection(pika.URLParameters(rabbit(ctx).address))
        self._ch = self._connection.channel()
        self._thread = threading.Thread(target=self._run, args=(queue, sent), daemon=True)

    def _run(self, queue: str, sent: str) -> None:
        while not self._stop.wait(0.05):
            try:
                main = self._ch.queue_declare(queue, passive=True).method  # the main queue first: see _in_flight
                done = self._ch.queue_declare(sent, passive=True).method.message_count
            except Exception:  # noqa: BLE001 - a queue the student deleted: stop watching
                return
            self.samples.append((main.message_count, main.consumer_count, done))

    def __enter__(self) -> "DepthWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._connection.is_open:
            self._connection.close()


def worker(ctx: Context) -> dict:
    """Four emails in a fresh queue; the student's worker sends three; what the broker saw meanwhile."""
    if "ex08:worker" not in ctx.scratch:
        queue = ctx.unique("emails")
        sent = f"{queue}.sent"
        emails = [email(n, ctx.token) for n in range(4)]
        with channel(ctx) as ch:
            ch.queue_declare(queue, durable=True)
            ch.queue_declare(sent, durable=True)
            for e in emails:
                ch.basic_publish("", queue, json.dumps(e).encode())
        run: dict = {"queue": queue, "emails": emails, "error": None}
        try:
            with DepthWatch(ctx, queue, sent) as watch:
                try:
                    run["returned"] = ctx.call("email_worker", queue, sent, 3)
                except Exception as exc:  # noqa: BLE001 - kept, re-raised by every check that needs the run
                    run["error"] = exc
            run["samples"] = watch.samples
            deadline = time.monotonic() + 3  # the fourth email comes back once the worker's channel closes
            while (left := ready(ctx, queue)) != 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            run["left"] = left
            messages = drain(ctx, sent, properties=True) or []
            run["sent"] = [body for body, _ in messages]
            run["sent_modes"] = [props.delivery_mode for _, props in messages]
        finally:
            delete(ctx, [queue, sent])
        ctx.scratch["ex08:worker"] = run
    run = ctx.scratch["ex08:worker"]
    if run["error"] is not None:
        raise run["error"]
    return run


def sent_addresses(bodies: list[bytes]) -> list:
    out = []
    for body in bodies:
        try:
            message = json.loads(body)
            out.append((message.get("to"), message.get("status")))
        except (ValueError, AttributeError):
            out.append(body.decode(errors="replace"))
    return out


def check_worker_sends(ctx: Context) -> None:
    run = worker(ctx)
    expect(run["returned"] == 3, "email_worker(queue, sent_queue, 3) → 3 (надіслано три листи)", run["returned"])
    wanted = [(e["to"], "sent") for e in run["emails"][:3]]
    got = sent_addresses(run["sent"])
    expect(got == wanted, f"у черзі результатів {short([w[0] for w in wanted], 90)}, кожен зі status 'sent'", got)


def check_prefetch_one(ctx: Context) -> None:
    run = worker(ctx)
    consuming = [s for s in run["samples"] if s[1] >= 1]
    expect(bool(consuming), "консьюмер на черзі (basic_consume) під час роботи",
           "жодного консьюмера: повідомлення брали інакше (basic_get?)")
    total = len(run["emails"])
    # ready + already sent + in flight == total; with prefetch 1 and ack after sending, in flight is at most 1.
    in_flight = max(total - ready_ - done for ready_, _, done in consuming)
    expect(in_flight <= 1, "не більше одного повідомлення в роботі (prefetch_count=1, ack після надсилання)",
           f"видано одночасно: {count(in_flight, 'повідомлення', 'повідомлення', 'повідомлень')}")


def check_nothing_lost(ctx: Context) -> None:
    run = worker(ctx)
    expect(run["left"] == 1, "четвертий лист лишився в черзі (ready=1): нічого не загублено",
           f"ready={run['left']}")


# --- step 3: poison messages --------------------------------------------------------------------


def declared(ctx: Context) -> dict:
    """declare_email_queue once per run, on fresh names: what the broker then holds (read from its management API)."""
    if "ex08:declared" not in ctx.scratch:
        queue = ctx.unique("orders")
        dlx, dead = f"{queue}.dlx", f"{queue}.dead"
        rabbit(ctx)
        run: dict = {"queue": queue, "dlx": dlx, "dead": dead, "error": None}
        try:
            ctx.call("declare_email_queue", queue, dlx)
            path = f"{vhost(ctx)}/{quote(queue, safe='')}"
            run["queue_info"] = management(ctx, f"queues/{path}")
            run["dead_info"] = management(ctx, f"queues/{vhost(ctx)}/{quote(dead, safe='')}")
            run["exchange_info"] = management(ctx, f"exchanges/{vhost(ctx)}/{quote(dlx, safe='')}")
            run["bound"] = [b["destination"] for b in management(
                ctx, f"exchanges/{vhost(ctx)}/{quote(dlx, safe='')}/bindings/source") or []]
        except Exception as exc:  # noqa: BLE001 - kept, re-raised by every check that needs the run
            run["error"] = exc
        finally:
            delete(ctx, [queue, dead], [dlx])
        ctx.scratch["ex08:declared"] = run
    run = ctx.scratch["ex08:declared"]
    if run["error"] is not None:
        raise run["error"]
    return run


def check_dead_letter_declared(ctx: Context) -> None:
    run = declared(ctx)
    info = run["queue_info"]
    expect(info is not None, f"черга {run['queue']!r}", "такої черги немає")
    args = info.get("arguments") or {}
    expect(args.get("x-dead-letter-exchange") == run["dlx"], f"аргумент x-dead-letter-exchange = {run['dlx']!r}", args)
    expect(run["exchange_info"] is not None, f"exchange {run['dlx']!r}", "такого exchange немає")
    expect(run["dead"] in run["bound"], f"черга {run['dead']!r} прив'язана до {run['dlx']!r}", f"прив'язані: {run['bound']}")


def check_durable_queues(ctx: Context) -> None:
    run = declared(ctx)
    made = {run["queue"]: run["queue_info"], run["dead"]: run["dead_info"], run["dlx"]: run["exchange_info"]}
    missing = [name for name, info in made.items() if info is None]
    expect(not missing, "черга, dead-letter exchange і черга .dead оголошені", f"немає: {missing}")
    fragile = [name for name, info in made.items() if not info.get("durable")]
    expect(not fragile, "усі три durable=True: переживуть перезапуск брокера", f"не durable: {fragile}")


def check_persistent_results(ctx: Context) -> None:
    run = worker(ctx)
    modes = run["sent_modes"]
    expect(bool(modes) and all(mode == 2 for mode in modes),
           "кожен результат у sent_queue — persistent (delivery_mode=2)", f"delivery_mode: {modes}")


POISON = [b"{not json", json.dumps({"subject": "no recipient"}).encode()]


def check_poison(ctx: Context) -> None:
    queue = ctx.unique("emails")
    sent, dlx, dead = f"{queue}.sent", f"{queue}.dlx", f"{queue}.dead"
    good = [{**email(n, ctx.token), "seconds": 0} for n in (7, 8)]
    with channel(ctx) as ch:
        ch.exchange_declare(dlx, "fanout")
        ch.queue_declare(dead)
        ch.queue_bind(dead, dlx)
        ch.queue_declare(queue, durable=True, arguments={"x-dead-letter-exchange": dlx})
        ch.queue_declare(sent, durable=True)
        for body in (json.dumps(good[0]).encode(), POISON[0], POISON[1], json.dumps(good[1]).encode()):
            ch.basic_publish("", queue, body)
    try:
        returned = ctx.call("email_worker", queue, sent, 4)
        with channel(ctx) as ch:
            dead_letters = []
            while (message := ch.basic_get(dead, auto_ack=True))[0] is not None:
                deaths = (message[1].headers or {}).get("x-death") or [{}]
                dead_letters.append((message[2], deaths[0].get("reason"), deaths[0].get("count")))
        left = ready(ctx, queue)
        expect(left == 0, "основна черга порожня: отруйні повідомлення не повертаються по колу", f"ready={left}")
        expect([d[0] for d in dead_letters] == POISON, f"обидва зіпсовані повідомлення в {dead!r}",
               [d[0] for d in dead_letters])
        expect(all(d[1] == "rejected" and d[2] == 1 for d in dead_letters),
               "x-death: reason 'rejected', count 1 (відхилено один раз, без requeue)", [d[1:] for d in dead_letters])
        expect(returned == 2, "email_worker(..., 4) → 2 (два справжні листи надіслано)", returned)
    finally:
        delete(ctx, [queue, sent, dead], [dlx])


USES = {"setup_log_routing": ("setup_log_routing",), "email_worker": ("email_worker",),
        "declare_email_queue": ("declare_email_queue",)}

EXERCISE = Exercise(
    id="ex08",
    title="RabbitMQ: маршрутизація, воркер з ack, dead letters",
    brokers=("rabbitmq",),
    checks=[
        Check("ex08.topic_exchange", 1, "setup_log_routing declares a topic exchange with the given name",
              "channel.exchange_declare(exchange=exchange, exchange_type='topic').",
              check_topic_exchange, USES["setup_log_routing"]),
        Check("ex08.route_errors", 2, "<exchange>.errors gets every error.<one word> message, and only those",
              "Прив'яжіть чергу f'{exchange}.errors' з routing_key='error.*': * — рівно одне слово.",
              route_check("errors"), USES["setup_log_routing"]),
        Check("ex08.route_payments", 2, "<exchange>.payments gets every <one word>.payment message",
              "Прив'яжіть чергу f'{exchange}.payments' з routing_key='*.payment'.",
              route_check("payments"), USES["setup_log_routing"]),
        Check("ex08.route_all", 1, "<exchange>.all gets every message",
              "Прив'яжіть чергу f'{exchange}.all' з routing_key='#': # — будь-яка кількість слів.",
              route_check("all"), USES["setup_log_routing"]),
        Check("ex08.worker_sends", 2, "email_worker sends `count` emails, publishing {'to', 'status': 'sent'} for each",
              "Для кожного листа: json.loads(body), time.sleep(email['seconds']), опублікуйте "
              "json.dumps({'to': ..., 'status': 'sent'}) у sent_queue; зупиніться після count листів і поверніть їх кількість.",
              check_worker_sends, USES["email_worker"]),
        Check("ex08.prefetch_one", 2, "email_worker consumes with prefetch_count=1 and acks after sending",
              "channel.basic_qos(prefetch_count=1) перед basic_consume; basic_ack — лише після публікації результату.",
              check_prefetch_one, USES["email_worker"]),
        Check("ex08.nothing_lost", 2, "a message the worker did not process stays in the queue",
              "Не вмикайте auto_ack: підтверджуйте кожен лист (basic_ack) після обробки і закрийте з'єднання в кінці — "
              "непідтверджене повернеться в чергу.",
              check_nothing_lost, USES["email_worker"]),
        Check("ex08.dead_letter_declared", 1, "declare_email_queue sets x-dead-letter-exchange and binds <queue>.dead",
              "Оголосіть fanout-exchange dead_letter_exchange, чергу f'{queue}.dead', прив'яжіть її, а чергу queue "
              "оголосіть з arguments={'x-dead-letter-exchange': dead_letter_exchange}.",
              check_dead_letter_declared, USES["declare_email_queue"]),
        Check("ex08.durable_queues", 1, "declare_email_queue makes its queue, the dead-letter exchange and <queue>.dead durable",
              "Передайте durable=True в exchange_declare і в обидва queue_declare: інакше після перезапуску брокера "
              "черг (і листів у них) не стане.",
              check_durable_queues, USES["declare_email_queue"]),
        Check("ex08.persistent_results", 1, "email_worker publishes its results as persistent messages (delivery_mode=2)",
              "basic_publish(..., properties=pika.BasicProperties(delivery_mode=2)): durable-черга без persistent "
              "повідомлень переживає перезапуск порожньою.",
              check_persistent_results, USES["email_worker"]),
        Check("ex08.poison", 3, "poison messages are rejected once, without requeue, into the dead-letter exchange",
              "Лист, який не розібрати (не JSON або без 'to'), відхиліть: "
              "ch.basic_reject(delivery_tag=..., requeue=False). requeue=True крутить його по колу, а ack — губить.",
              check_poison, USES["email_worker"]),
    ],
)
