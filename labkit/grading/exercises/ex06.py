"""ex06: an event subscriber on the bus: a transactional outbox and its relay, an idempotent consumer, CloudEvents.

Each check makes its own topic exchange and queues (``ctx.unique``) in the RabbitMQ the
student's code uses (in ``lab grade``, the submission's own virtual host) and a fresh SQLite
database in the student's process (``new_database``, given in the notebook). It drives the
student's functions with real events, duplicates, a pair in the wrong order and poison ones
among them, stops the consumer in the middle of a batch and starts it again, and then looks
for itself: at the student's projection through the notebook's read helpers, at the queues
(passive declares: exact and immediate), at the dead-letter queue's contents and at the events
the student published, which it takes from a queue it binds itself and reads with the
``cloudevents`` SDK. What a run declared, the teardown deletes.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from typing import Callable
from urllib.parse import quote

from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, expect_type, short
from ..student import StudentError
from ...ukrainian import count
from .eventbus import (SOURCE, STRUCTURED, attributes, consumers, dead_letters, event, inventory_queue, listen, made,
                       new_exchange, publish, settled, take, teardown)
from .ex08 import channel, management, ready, vhost

FOLLOW_UPS = ("InventoryReserved", "InventoryRejected")
MAX_EVENT_BYTES = 65536  # the notebook's outbox refuses bodies above this (a CHECK in its schema)
TIMEOUT = 1.0  # the consumer's inactivity timeout in every call: it also stops after max_messages


def once(ctx: Context, key: str, run: Callable[[], dict]) -> dict:
    """``run()`` once per check run, shared by the checks that judge it; the student's failure is kept and
    raised again by each of them."""
    if key not in ctx.scratch:
        try:
            ctx.scratch[key] = run()
        except (StudentError, CheckFailed) as exc:
            ctx.scratch[key] = exc
    if isinstance(ctx.scratch[key], Exception):
        raise ctx.scratch[key]
    return ctx.scratch[key]


def order(ctx: Context, n: int, items: list[dict]) -> dict:
    """An order nobody can guess, in the shape of the lab's OrderCreated."""
    order_id = f"ord-{ctx.token}-{n}-{uuid.uuid4().hex[:6]}"
    return {"order_id": order_id, "customer": {"name": f"Клієнт {n}", "email": f"c{n}-{ctx.token}@example.com"},
            "items": items, "total": sum(i["quantity"] for i in items) * random.randint(50, 500)}


def created(o: dict, event_id: str | None = None) -> tuple[str, bytes]:
    return "OrderCreated", event("OrderCreated", o, event_id=event_id)


def cancelled(order_id: str) -> tuple[str, bytes]:
    return "OrderCancelled", event("OrderCancelled", {"order_id": order_id, "reason": "customer"})


def raised(ctx: Context, name: str, *args) -> StudentError | None:
    """The exception of its own the student's function raised, if it did (a stub, a timeout or a crash propagate)."""
    try:
        ctx.call(name, *args)
    except StudentError as exc:
        if exc.kind != "exception":
            raise
        return exc
    return None


def subjects(messages: list[tuple]) -> list:
    return [attributes(body, "подія з outbox").get("subject") for _, _, body in messages]


def stock(ctx: Context, db: str, column: str = "reserved") -> dict:
    """One column of the student's stock table, {sku: number}, read by the notebook's ``stock_levels``."""
    levels = ctx.call("stock_levels", db)
    try:
        return {sku: level[column] for sku, level in levels.items()}
    except (AttributeError, KeyError, TypeError):
        raise CheckFailed("stock_levels(db) → {sku: {'on_hand': ..., 'reserved': ...}}", short(levels)) from None


# --- step 1: the envelope --------------------------------------------------------------------------


def check_envelope(ctx: Context) -> None:
    order_id = f"ord-{ctx.token}"
    data = {"order_id": order_id, "items": [{"sku": "ABC", "quantity": random.randint(1, 9)}]}
    made_events = [ctx.call("cloud_event", "/ex06/inventory", "InventoryReserved", order_id, data) for _ in range(2)]
    for e in made_events:
        expect_type(e, dict, "cloud_event(...)")
    first = attributes(json.dumps(made_events[0]).encode(), "cloud_event(...)")
    expect(first.get("specversion") == "1.0", "specversion '1.0'", first.get("specversion"))
    wanted = {"source": "/ex06/inventory", "type": "InventoryReserved", "subject": order_id,
              "datacontenttype": "application/json", "data": data}
    expect_equal({k: first.get(k) for k in wanted}, wanted, "атрибути")
    expect(first.get("time") is not None, "time: коли сталася подія (RFC 3339, з часовим поясом)", "немає time")
    expect(abs(time.time() - first["time"].timestamp()) < 3600, "time — тепер (UTC)", str(first["time"]))
    ids = [e.get("id") for e in made_events]
    expect(ids[0] != ids[1], "кожна подія — новий id (uuid4)", f"двічі {ids[0]!r}")


# --- step 2: the outbox and its relay ------------------------------------------------------------------


def check_outbox(ctx: Context) -> None:
    exchange = new_exchange(ctx)
    seen = listen(ctx, exchange)
    db = ctx.call("new_database", {})
    orders = [order(ctx, n, [{"sku": "ABC", "quantity": random.randint(1, 5)}]) for n in range(3)]
    ids = [ctx.call("create_order", db, o) for o in orders]
    sent = ctx.call("relay_outbox", db, exchange)
    got = take(ctx, seen, len(orders))
    expect(len(got) == len(orders), f"relay_outbox публікує {count(len(orders), 'подію', 'події', 'подій')} OrderCreated з outbox",
           f"{count(len(got), 'повідомлення', 'повідомлення', 'повідомлень')} на шині")
    events = [attributes(body, "подія з outbox") for _, _, body in got]
    expect_equal([e.get("type") for e in events], ["OrderCreated"] * 3, "type")
    expect_equal([key for key, _, _ in got], ["OrderCreated"] * 3, "routing key")
    expect_equal([e.get("subject") for e in events], [o["order_id"] for o in orders], "subject (від найстаршої)")
    expect_equal([e.get("id") for e in events], ids, "id подій (те, що повернула create_order)")
    expect_equal([e.get("data") for e in events], orders, "data (саме замовлення)")
    expect(sent == len(orders), f"relay_outbox(...) → {len(orders)}", sent)


def check_atomic(ctx: Context) -> None:
    exchange = new_exchange(ctx)
    seen = listen(ctx, exchange)
    db = ctx.call("new_database", {})
    first = order(ctx, 0, [{"sku": "ABC", "quantity": 1}])
    ctx.call("create_order", db, first)
    expect(raised(ctx, "create_order", db, first) is not None, "create_order з order_id, що вже є, кидає виняток",
           "повернула результат")
    second = order(ctx, 1, [{"sku": "XYZ", "quantity": 2}])
    huge = {**second, "note": "x" * (MAX_EVENT_BYTES + 1024)}
    expect(raised(ctx, "create_order", db, huge) is not None,
           "create_order з подією понад 64 КіБ кидає виняток (CHECK outbox)", "повернула результат")
    again = raised(ctx, "create_order", db, second)
    expect(again is None, "від невдалої create_order не лишилося нічого: те саме замовлення, менше, створюється "
                          "знову", f"{again.detail if again else ''} (рядок orders лишився без своєї події?)")
    ctx.call("relay_outbox", db, exchange)
    got = subjects(take(ctx, seen, 2))
    expect_equal(got, [first["order_id"], second["order_id"]], "події на шині (subject)")


def check_relay_once(ctx: Context) -> None:
    exchange = new_exchange(ctx)
    seen = listen(ctx, exchange)
    db = ctx.call("new_database", {})
    first = [order(ctx, n, [{"sku": "ABC", "quantity": 1}]) for n in range(2)]
    for o in first:
        ctx.call("create_order", db, o)
    ctx.call("relay_outbox", db, exchange)
    take(ctx, seen, len(first))
    again = ctx.call("relay_outbox", db, exchange)
    repeated = take(ctx, seen, 0, wait=0, settle=0.3)
    expect(not repeated and again == 0, "relay_outbox удруге → 0 і нічого на шині (усе вже позначено sent_at)",
           f"→ {again}, на шині ще {len(repeated)}")
    later = order(ctx, 2, [{"sku": "XYZ", "quantity": 1}])
    ctx.call("create_order", db, later)
    ctx.call("relay_outbox", db, exchange)
    expect_equal(subjects(take(ctx, seen, 1)), [later["order_id"]], "нове замовлення: лише його подія")


def check_confirms(ctx: Context) -> None:
    exchange = new_exchange(ctx)
    # The only queue on this bus takes two messages and refuses the rest: the broker nacks the third publish.
    full = listen(ctx, exchange, arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    db = ctx.call("new_database", {})
    orders = [order(ctx, n, [{"sku": "ABC", "quantity": 1}]) for n in range(3)]
    for o in orders:
        ctx.call("create_order", db, o)
    first = ctx.call("relay_outbox", db, exchange)
    got = take(ctx, full, 2, wait=1)
    second = ctx.call("relay_outbox", db, exchange)
    got += take(ctx, full, 1, wait=1)
    arrived = subjects(got)
    wanted = [o["order_id"] for o in orders]
    expect(arrived == wanted, "подію, від якої брокер відмовився (nack), relay не позначає надісланою: наступний "
           "запуск публікує її — кожна з трьох подій доходить рівно раз",
           f"дійшли {len(arrived)} з 3" if set(arrived) <= set(wanted) else arrived)
    expect((first, second) == (2, 1), "relay_outbox → 2 (третю брокер не взяв), потім → 1", (first, second))


# --- step 3: the subscriber's queue -------------------------------------------------------------------


def check_subscribe(ctx: Context) -> None:
    exchange = new_exchange(ctx)
    queue = ctx.unique("ex06-inventory")
    made(ctx)["queues"] += [queue, f"{queue}.dead"]
    ctx.call("declare_inventory_queue", exchange, queue)
    for name in (queue, f"{queue}.dead"):
        info = management(ctx, f"queues/{vhost(ctx)}/{quote(name, safe='')}")
        expect(info is not None, f"черга {name!r}", "такої черги немає")
        expect(bool(info.get("durable")), f"черга {name!r} durable=True", "не durable")
    o = order(ctx, 0, [{"sku": "ABC", "quantity": 1}])
    publish(ctx, exchange, [created(o), cancelled(o["order_id"]),
                            ("InventoryReserved", event("InventoryReserved", {"order_id": o["order_id"], "items": []})),
                            ("PaymentProcessed", event("PaymentProcessed", {"order_id": o["order_id"], "amount": 1}))])
    types = [attributes(body, "подія").get("type") for _, _, body in take(ctx, queue, 2, wait=1)]
    expect_equal(types, ["OrderCreated", "OrderCancelled"], f"у черзі {queue}")
    with channel(ctx) as ch:  # a message the consumer rejects must land in <queue>.dead
        ch.basic_publish("", queue, b"rejected")
        method = None
        for _ in range(20):
            if (method := ch.basic_get(queue)[0]) is not None:
                break
            time.sleep(0.05)
        expect(method is not None, f"повідомлення в черзі {queue}", "не дійшло")
        ch.basic_reject(method.delivery_tag, requeue=False)
    dead = settled(ctx, f"{queue}.dead", 1, wait=2)
    expect(dead == 1, f"відхилене повідомлення в черзі {queue}.dead (x-dead-letter-routing-key)", f"ready={dead}")


# --- steps 4 and 5: the consumer ----------------------------------------------------------------------


def subscriber(ctx: Context, shelf: dict[str, int]) -> tuple[str, str, str]:
    """A bus, inventory's queue on it and a fresh inventory database: (exchange, queue, db)."""
    exchange = new_exchange(ctx)
    queue = inventory_queue(ctx, exchange)
    return exchange, queue, ctx.call("new_database", shelf)


def drained(ctx: Context, queue: str) -> None:
    left = settled(ctx, queue, 0)
    expect(left == 0, f"черга {queue} порожня: кожне повідомлення підтверджено (basic_ack після commit)",
           f"ready={left}")
    expect(consumers(ctx, queue) == 0, "консьюмер закрив з'єднання, коли закінчив", "консьюмер ще на черзі")


def answers(ctx: Context, queue: str, wanted: int) -> dict[str, list]:
    """The follow-up events in ``queue``, by the order they answer (data.order_id): their types."""
    out: dict[str, list] = {}
    for _, _, body in take(ctx, queue, wanted):
        e = attributes(body, "подія-відповідь")
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        out.setdefault(str(data.get("order_id")), []).append(e.get("type"))
    return out


def check_reserve(ctx: Context) -> None:
    a, b, c = (f"{s}-{ctx.token}" for s in "ABC")
    levels = {a: random.randint(5, 9), b: random.randint(2, 4), c: 1}
    exchange, queue, db = subscriber(ctx, levels)
    fits = order(ctx, 0, [{"sku": a, "quantity": 2}, {"sku": b, "quantity": 1}])
    short_one = order(ctx, 1, [{"sku": a, "quantity": 1}, {"sku": c, "quantity": 5}])  # c is short: none of it
    also = order(ctx, 2, [{"sku": a, "quantity": 1}])
    publish(ctx, exchange, [created(o) for o in (fits, short_one, also)])
    handled = ctx.call("consume_events", db, queue, exchange, 3, TIMEOUT)
    expect_equal(stock(ctx, db), {a: 3, b: 1, c: 0},
                 "reserved (усе або нічого: другому замовленню бракує одного товару)")
    expect_equal(stock(ctx, db, "on_hand"), levels, "on_hand (резерв його не змінює)")
    expect_equal(ctx.call("reservations", db), {fits["order_id"]: "reserved", short_one["order_id"]: "rejected",
                                                also["order_id"]: "reserved"}, "reservations")
    drained(ctx, queue)
    expect(handled == 3, "consume_events(..., 3) → 3", handled)


def check_reordering(ctx: Context) -> None:
    a = f"A-{ctx.token}"
    exchange, queue, db = subscriber(ctx, {a: 10})
    follow = listen(ctx, exchange, FOLLOW_UPS)
    early, normal = order(ctx, 0, [{"sku": a, "quantity": 2}]), order(ctx, 1, [{"sku": a, "quantity": 3}])
    publish(ctx, exchange, [cancelled(early["order_id"]), created(early),  # the cancellation overtook its order
                            created(normal), cancelled(normal["order_id"])])
    ctx.call("consume_events", db, queue, exchange, 4, TIMEOUT)
    dead = ready(ctx, f"{queue}.dead")
    expect(dead == 0, "жодна з чотирьох подій не у dead letters: скасування, що прийшло раніше за замовлення, — "
                      "не помилка", f"{dead} у {queue}.dead")
    expect_equal(ctx.call("reservations", db), {early["order_id"]: "cancelled", normal["order_id"]: "cancelled"},
                 "reservations")
    expect_equal(stock(ctx, db), {a: 0}, "reserved (обидва замовлення скасовано)")
    expect_equal(answers(ctx, follow, 2), {early["order_id"]: ["InventoryRejected"],
                                           normal["order_id"]: ["InventoryReserved"]},
                 "відповіді на шині (скасоване раніше замовлення — InventoryRejected)")
    drained(ctx, queue)


def check_duplicates(ctx: Context) -> None:
    a = f"A-{ctx.token}"
    exchange, queue, db = subscriber(ctx, {a: 20})
    q1, q2 = random.randint(1, 4), random.randint(5, 8)
    first, second = order(ctx, 0, [{"sku": a, "quantity": q1}]), order(ctx, 1, [{"sku": a, "quantity": q2}])
    again = str(uuid.uuid4())
    follow = listen(ctx, exchange, FOLLOW_UPS)
    publish(ctx, exchange, [created(first, again), created(first, again), created(second), created(first, again)])
    handled = ctx.call("consume_events", db, queue, exchange, 4, TIMEOUT)
    expect_equal(stock(ctx, db), {a: q1 + q2}, "reserved (подію з тим самим id — один раз)")
    expect_equal(answers(ctx, follow, 2), {first["order_id"]: ["InventoryReserved"],
                                           second["order_id"]: ["InventoryReserved"]},
                 "відповіді на шині (на подію з тим самим id — одна)")
    dead = ready(ctx, f"{queue}.dead")
    expect(dead == 0, "дублікат підтверджено без змін, а не відкинуто в dead letters", f"{dead} у {queue}.dead")
    drained(ctx, queue)
    expect(handled == 4, "consume_events(..., 4) → 4 (дублікати теж оброблено: підтверджено без змін)", handled)


POISON_JSON = b"{not json"


def poison_run(ctx: Context) -> dict:
    """Good, poison (not JSON, wrong data, a CHECK of the database failing half-way), good: once per run."""
    def run() -> dict:
        a, b = f"A-{ctx.token}", f"B-{ctx.token}"
        exchange, queue, db = subscriber(ctx, {a: random.randint(5, 9), b: random.randint(5, 7)})
        good = [order(ctx, 0, [{"sku": a, "quantity": 1}]), order(ctx, 4, [{"sku": b, "quantity": 1}])]
        half = order(ctx, 2, [{"sku": a, "quantity": 2}, {"sku": b, "quantity": -3}])  # the second line breaks CHECK
        half_id = str(uuid.uuid4())
        poison = [POISON_JSON, event("OrderCreated", {**order(ctx, 1, []), "items": "lots"}), created(half, half_id)[1]]
        publish(ctx, exchange, [created(good[0]), *(("OrderCreated", p) for p in poison), created(good[1])])
        handled = ctx.call("consume_events", db, queue, exchange, 5, TIMEOUT)
        return {"queue": queue, "poison": poison, "a": a, "b": b, "exchange": exchange, "db": db, "half": half,
                "half_id": half_id, "handled": handled, "dead": dead_letters(ctx, queue),
                "left": settled(ctx, queue, 0), "reserved": stock(ctx, db)}

    return once(ctx, "ex06:poison", run)


def check_poison(ctx: Context) -> None:
    run = poison_run(ctx)
    expect(run["left"] == 0, "основна черга порожня: отруйні події не повертаються по колу", f"ready={run['left']}")
    bodies = [d[0] for d in run["dead"]]
    expect(bodies == run["poison"], f"усі три отруйні події в {run['queue']}.dead, у тому ж порядку",
           f"{len(bodies)}: {short([b[:40] for b in bodies], 120)}")
    expect(all(d[1] == "rejected" and d[2] == 1 for d in run["dead"]),
           "x-death: reason 'rejected', count 1 (відхилено один раз, без requeue)", [d[1:] for d in run["dead"]])
    expect_equal(run["reserved"], {run["a"]: 1, run["b"]: 1},
                 "reserved: лише дві добрі події; половина зіпсованого замовлення відкочена разом із транзакцією")
    expect(run["handled"] == 5, "consume_events(..., 5) → 5: після отруйних консьюмер іде далі", run["handled"])


def check_redrive(ctx: Context) -> None:
    run = poison_run(ctx)
    # The operator fixed the dead-lettered order and sends it again with the same id: it was never processed.
    fixed = {**run["half"], "items": [{"sku": run["a"], "quantity": 2}, {"sku": run["b"], "quantity": 3}]}
    publish(ctx, run["exchange"], [created(fixed, run["half_id"])])
    ctx.call("consume_events", run["db"], run["queue"], run["exchange"], 1, TIMEOUT)
    expect_equal(stock(ctx, run["db"]), {run["a"]: 3, run["b"]: 4},
                 "reserved після повторної (виправленої) події з тим самим id")


def check_restart(ctx: Context) -> None:
    a = f"A-{ctx.token}"
    exchange, queue, db = subscriber(ctx, {a: 100})
    quantities = random.sample(range(1, 12), 8)
    orders = [order(ctx, n, [{"sku": a, "quantity": q}]) for n, q in enumerate(quantities)]
    publish(ctx, exchange, [created(o) for o in orders])
    first = ctx.call("consume_events", db, queue, exchange, 3, TIMEOUT)
    done = ctx.call("reservations", db)
    expect_type(done, dict, "reservations(db)")
    left = settled(ctx, queue, 5)
    expect(first == 3 and sorted(done) == sorted(o["order_id"] for o in orders[:3]),
           "consume_events(..., 3) обробляє рівно три перші події й зупиняється",
           f"→ {first}, оброблено {len(done)}")
    expect(left == 5, "решта п'ять — знову в черзі: видані, але не підтверджені повертаються, коли з'єднання закрито "
                      "(ack — лише після commit, не auto_ack)", f"ready={left}")
    second = ctx.call("consume_events", db, queue, exchange, 5, TIMEOUT)
    expect_equal(stock(ctx, db), {a: sum(quantities)}, "reserved після перезапуску (кожне замовлення раз)")
    expect(len(ctx.call("reservations", db)) == 8 and second == 5, "другий запуск обробляє решту п'ять",
           f"→ {second}")
    drained(ctx, queue)


# --- the follow-up event --------------------------------------------------------------------------------


def follow_up_run(ctx: Context) -> dict:
    """Three orders (one short of stock) and a duplicate through the consumer; what it published, once per run."""
    def run() -> dict:
        a, b = f"A-{ctx.token}", f"B-{ctx.token}"
        exchange, queue, db = subscriber(ctx, {a: random.randint(3, 6), b: 1})
        follow = listen(ctx, exchange, FOLLOW_UPS)
        anything = listen(ctx, exchange)  # to say what was published instead, if nothing reached `follow`
        orders = [order(ctx, 0, [{"sku": a, "quantity": 1}]), order(ctx, 1, [{"sku": b, "quantity": 2}]),
                  order(ctx, 2, [{"sku": a, "quantity": 2}])]
        twice = str(uuid.uuid4())
        publish(ctx, exchange, [created(orders[0], twice), *map(created, orders[1:]), created(orders[0], twice)])
        ctx.call("consume_events", db, queue, exchange, 4, TIMEOUT)
        return {"orders": orders, "got": take(ctx, follow, 3), "reservations": ctx.call("reservations", db),
                "elsewhere": [key for key, _, _ in take(ctx, anything, 0, wait=0, settle=0.1)
                              if key != "OrderCreated" and key not in FOLLOW_UPS]}

    return once(ctx, "ex06:follow_up", run)


def check_follow_up(ctx: Context) -> None:
    run = follow_up_run(ctx)
    got = run["got"]
    expect(bool(got) or not run["elsewhere"], "події-відповіді з routing key = тип "
           "(InventoryReserved / InventoryRejected)", f"опубліковано з routing key {run['elsewhere']}")
    wanted = {o["order_id"]: t for o, t in zip(run["orders"], ("InventoryReserved", "InventoryRejected",
                                                                 "InventoryReserved"))}
    answers = [(key, attributes(body, "подія-відповідь")) for key, _, body in got]
    seen = [e["data"].get("order_id") if isinstance(e.get("data"), dict) else None for _, e in answers]
    expect(sorted(map(str, seen)) == sorted(wanted), "рівно одна відповідь на кожне замовлення (дублікат — без "
           "другої відповіді)", f"{count(len(got), 'відповідь', 'відповіді', 'відповідей')}: data.order_id {short(seen, 100)}")
    by_order = {e["data"]["order_id"]: (key, e.get("type")) for key, e in answers}
    expect_equal({o: by_order[o][1] for o in wanted}, wanted, "type відповіді на кожне замовлення")
    expect(all(key == type_ for key, type_ in by_order.values()), "routing key = тип події",
           list(by_order.values()))
    statuses = {o: "reserved" if t == "InventoryReserved" else "rejected" for o, t in wanted.items()}
    expect_equal(run["reservations"], statuses, "reservations (узгоджено з відповідями на шині)")


def check_follow_up_envelope(ctx: Context) -> None:
    run = follow_up_run(ctx)
    expect(len(run["got"]) == 3, "три події-відповіді на шині", len(run["got"]))
    order_ids = {o["order_id"] for o in run["orders"]}
    ids = []
    for _, props, body in run["got"]:
        e = attributes(body, "подія-відповідь")
        expect(props.content_type == STRUCTURED, f"content_type повідомлення {STRUCTURED!r} (структурований "
               "CloudEvent)", props.content_type)
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        expect(e.get("subject") in order_ids and e.get("subject") == data.get("order_id"),
               "subject — номер замовлення (data.order_id)", e.get("subject"))
        expect(e.get("datacontenttype") == "application/json" and isinstance(e.get("data"), dict),
               "datacontenttype 'application/json', data — об'єкт JSON",
               (e.get("datacontenttype"), type(e.get("data")).__name__))
        expect(e.get("time") is not None, "time (з часовим поясом)", "немає time")
        expect(bool(e.get("source")) and e.get("source") != SOURCE, "source — inventory (не source "
               "вхідної події)", e.get("source"))
        ids.append(e.get("id"))
    expect(len(set(ids)) == len(ids), "кожна відповідь — новий id", ids)


USES = {
    "envelope": ("cloud_event",),
    "outbox": ("new_database", "create_order", "relay_outbox"),
    "subscribe": ("declare_inventory_queue",),
    "consumer": ("new_database", "consume_events", "handle_order_created", "stock_levels", "reservations"),
    "reordering": ("new_database", "consume_events", "handle_order_created", "handle_order_cancelled",
                   "stock_levels", "reservations"),
}

EXERCISE = Exercise(
    id="ex06",
    title="Підписник на шині подій: outbox, ідемпотентний консьюмер, CloudEvents",
    brokers=("rabbitmq",),
    teardown=teardown,
    checks=[
        Check("ex06.envelope", 2, "cloud_event builds a CloudEvents 1.0 event: every attribute, a new id, a time zone",
              "Поверніть dict з specversion '1.0', id=str(uuid.uuid4()), source, type, subject, "
              "time=datetime.now(timezone.utc).isoformat() (з часовим поясом!), datacontenttype "
              "'application/json' і data.",
              check_envelope, USES["envelope"]),
        Check("ex06.outbox", 2, "create_order puts the order and OrderCreated in the outbox, relay_outbox sends it",
              "create_order нічого не публікує: запишіть рядок orders і emit(tx, подія) в одному "
              "`with transaction(db) as tx:`. relay_outbox публікує рядки outbox без sent_at (ORDER BY seq) "
              "у exchange з routing_key = тип події.",
              check_outbox, USES["outbox"]),
        Check("ex06.atomic", 3, "the order row and its outbox row are written in one transaction: both or neither",
              "Обидві вставки — в одному блоці `with transaction(db) as tx:` і без try/except навколо них: "
              "якщо друга кине виняток, ROLLBACK скасує й першу, а виняток вийде з create_order.",
              check_atomic, USES["outbox"]),
        Check("ex06.relay_once", 1, "relay_outbox marks what it published: a second run publishes nothing twice",
              "Після підтвердження кожної події: UPDATE outbox SET sent_at = CURRENT_TIMESTAMP WHERE seq = ?; "
              "вибирайте лише WHERE sent_at IS NULL.",
              check_relay_once, USES["outbox"]),
        Check("ex06.confirms", 2, "relay_outbox uses publisher confirms: a nacked event stays pending, goes out later",
              "channel.confirm_delivery() перед публікацією; позначайте sent_at лише після basic_publish, що "
              "повернувся; pika.exceptions.NackError перехопіть і зупиніться — подія лишиться в outbox до "
              "наступного запуску.",
              check_confirms, USES["outbox"]),
        Check("ex06.subscribe", 2, "declare_inventory_queue: a durable queue bound to OrderCreated and OrderCancelled "
              "only, rejects dead-lettered to <queue>.dead",
              "queue_declare(f'{queue}.dead', durable=True); queue_declare(queue, durable=True, arguments="
              "{'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': f'{queue}.dead'}); queue_bind з "
              "routing key 'OrderCreated' і 'OrderCancelled' (не '#': тоді прийдуть і власні InventoryReserved).",
              check_subscribe, USES["subscribe"]),
        Check("ex06.reserve", 3, "consume_events reserves every line of an order or none, and acks what it handled",
              "Для кожного повідомлення: json.loads, обробник у `with transaction(db) as tx:`, потім basic_ack. "
              "handle_order_created: якщо хоч одного товару бракує (available(tx, sku) < quantity) — не "
              "резервуйте нічого, статус 'rejected'; reserved += quantity, on_hand не чіпайте.",
              check_reserve, USES["consumer"]),
        Check("ex06.reordering", 2, "an OrderCancelled that overtakes its OrderCreated: the order is never reserved",
              "handle_order_cancelled для невідомого замовлення записує reservations зі статусом 'cancelled' і "
              "'[]'; handle_order_created, знайшовши рядок для order_id, нічого не резервує (і не кидає виняток), "
              "а відповідає InventoryRejected.",
              check_reordering, USES["reordering"]),
        Check("ex06.duplicates", 2, "an event delivered twice (the same id) changes the projection once",
              "У тій самій транзакції: SELECT 1 FROM processed_events WHERE event_id = ?; якщо є — нічого не "
              "робіть (але ack!), інакше обробник і INSERT INTO processed_events.",
              check_duplicates, USES["consumer"]),
        Check("ex06.poison", 3, "poison events are rejected once into <queue>.dead, roll back, the consumer goes on",
              "try: json.loads + транзакція з обробником; except Exception: channel.basic_reject(delivery_tag=..., "
              "requeue=False). Не ack до commit і не requeue=True: перше губить подію, друге крутить її по колу.",
              check_poison, USES["consumer"]),
        Check("ex06.redrive", 2, "a dead-lettered event left no trace: sent again (fixed, same id), it is processed",
              "Записуйте id у processed_events в тій самій транзакції, що й зміну, — після обробника. Якщо "
              "обробник кинув виняток, ROLLBACK скасує й запис id, і виправлену подію з тим самим id буде оброблено.",
              check_redrive, USES["consumer"]),
        Check("ex06.restart", 3, "stopped after max_messages and started again: nothing lost, nothing counted twice",
              "Зупиніться, щойно оброблено max_messages, і закрийте з'єднання: видані, але не підтверджені "
              "повідомлення повернуться в чергу. Без auto_ack=True: воно підтверджує все, що брокер видав наперед.",
              check_restart, USES["consumer"]),
        Check("ex06.follow_up", 3, "one InventoryReserved or InventoryRejected per order on the bus, routed by type",
              "handle_order_created: emit(tx, cloud_event('/ex06/inventory', 'InventoryReserved' або "
              "'InventoryRejected', order_id, {...})) у тій самій транзакції; consume_events наприкінці викликає "
              "relay_outbox(db, exchange).",
              check_follow_up, USES["consumer"]),
        Check("ex06.follow_up_envelope", 2, "the follow-up events are structured CloudEvents: subject = the order id, "
              "content type application/cloudevents+json",
              "Відповідь — cloud_event(...) з subject=order_id (не id вхідної події) і source '/ex06/inventory'; "
              "relay публікує з properties=pika.BasicProperties(content_type='application/cloudevents+json', "
              "delivery_mode=2).",
              check_follow_up_envelope, USES["consumer"]),
    ],
)
