"""ex09: Kafka: a keyed producer, a group consumer that commits after processing, a replay that rebuilds a projection.

Every run creates fresh topics (three partitions) and fresh consumer groups. The
checker reads what the student's producer wrote straight from the partitions, and
judges the consumer by the group's committed offsets, which it reads itself: after
a first, limited run the group must have committed exactly what was processed, and
after a restart the totals must count every order once. What a run created (its topics
and groups) is deleted when it ends.

In ``check()`` that is the Kafka of ``kafka_bootstrap()``; in ``lab grade``, the one the
grader leases to the submission (``ctx.services["kafka"]``, see ``labkit.grading.brokers``),
where the submission's names live under a prefix it never sees
(``ctx.services["kafka-namespace"]``): the checks pass the student's functions the names
the student sees, and use the real ones (:func:`real`) when they talk to Kafka themselves.
"""
from __future__ import annotations

import json
import random
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from labkit import config
from labkit.brokers.probe import kafka_ready

from ...ukrainian import count
from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_type, short

PARTITIONS = 3
FIRST_BATCH = 6  # the consumer's first run stops after this many orders: "stopped", then "restarted"
EVENTS = ("подія", "події", "подій")


def bootstrap(ctx: Context) -> str:
    """The Kafka the student's code uses (``kafka_bootstrap()``); a clear failure when it is not running."""
    if "ex09:bootstrap" not in ctx.scratch:
        address = ctx.services.get("kafka") or config.kafka_bootstrap()
        host, _, port = address.split(",")[0].rpartition(":")
        if not kafka_ready(host, int(port)):
            raise CheckFailed(f"Kafka за адресою {address}", "не відповідає",
                              f"Kafka не відповідає за адресою {address}. Запустіть брокери командою `lab up` "
                              "(або перевірте змінну LAB_KAFKA_BOOTSTRAP) і запустіть перевірку ще раз.")
        ctx.scratch["ex09:bootstrap"] = address
    return ctx.scratch["ex09:bootstrap"]


def real(ctx: Context, name: str) -> str:
    """The name Kafka has for ``name`` as the student's code sees it (in ``lab grade``, under its namespace)."""
    return ctx.services.get("kafka-namespace", "") + name


def made(ctx: Context) -> dict[str, list[str]]:
    """The topics and consumer groups this run created: ``teardown`` deletes them."""
    return ctx.scratch.setdefault("ex09:made", {"topics": [], "groups": []})


def new_topic(ctx: Context, prefix: str) -> str:
    name = ctx.unique(prefix)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap(ctx), client_id="lab-check")
    try:
        admin.create_topics([NewTopic(real(ctx, name), PARTITIONS, 1)])
        made(ctx)["topics"].append(real(ctx, name))
    finally:
        admin.close()
    return name


def teardown(ctx: Context) -> None:
    """Delete the run's topics and groups (best effort: a group the student's consumer still holds stays)."""
    left = ctx.scratch.get("ex09:made")
    if not left or not (left["topics"] or left["groups"]):
        return
    admin = KafkaAdminClient(bootstrap_servers=bootstrap(ctx), client_id="lab-check", request_timeout_ms=10000)
    try:
        for delete, names in ((admin.delete_topics, left["topics"]), (admin.delete_groups, left["groups"])):
            if names:
                try:
                    delete(names)
                except Exception:  # noqa: BLE001 - e.g. a group with members left, or Tansu without DeleteGroups
                    pass
    finally:
        admin.close()


def orders(ctx: Context, n: int) -> list[dict]:
    """``n`` order events of four customers, with amounts nobody can guess."""
    customers = [f"customer-{ctx.token}-{i}" for i in range(4)]
    return [{"event_type": "order_created", "order_id": f"o-{ctx.token}-{seq}", "customer_id": random.choice(customers),
             "amount": random.randint(1, 500), "seq": seq} for seq in range(n)]


def totals_of(events) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in events:
        out[e["customer_id"]] = out.get(e["customer_id"], 0) + e["amount"]
    return out


def read_all(ctx: Context, topic: str, wanted: int, timeout: float = 15.0) -> list:
    """Every record in ``topic`` from the beginning (no group), until ``wanted`` have come or ``timeout`` passed."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap(ctx), enable_auto_commit=False, client_id="lab-check")
    try:
        consumer.assign([TopicPartition(real(ctx, topic), p) for p in range(PARTITIONS)])
        consumer.seek_to_beginning()
        records, deadline = [], time.monotonic() + timeout
        while len(records) < wanted and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def produce(ctx: Context, topic: str, events: list[dict]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap(ctx), client_id="lab-check", key_serializer=str.encode,
                             value_serializer=lambda v: json.dumps(v).encode())
    try:
        for e in events:
            producer.send(real(ctx, topic), key=e["customer_id"], value=e)
        producer.flush()
    finally:
        producer.close()


def committed(ctx: Context, topic: str, group: str) -> dict[int, int]:
    """The group's committed offset per partition (0 where nothing is committed)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap(ctx), group_id=real(ctx, group), enable_auto_commit=False,
                             client_id="lab-check")
    try:
        return {p: consumer.committed(TopicPartition(real(ctx, topic), p)) or 0 for p in range(PARTITIONS)}
    finally:
        consumer.close(autocommit=False)


# --- step 1: the keyed producer -------------------------------------------------------------------


def producer_run(ctx: Context) -> dict:
    if "ex09:producer" not in ctx.scratch:
        topic, events = new_topic(ctx, "orders"), orders(ctx, 12)
        returned = ctx.call("publish_orders", topic, events)
        ctx.scratch["ex09:producer"] = {"events": events, "returned": returned,
                                        "records": read_all(ctx, topic, len(events))}
    return ctx.scratch["ex09:producer"]


def decoded(record):
    try:
        return json.loads(record.value)
    except (TypeError, ValueError):
        return None


def check_keyed_partition(ctx: Context) -> None:
    run = producer_run(ctx)
    records, events = run["records"], run["events"]
    expect(len(records) == len(events), f"у топіку {count(len(events), *EVENTS)} (не забудьте producer.flush())",
           count(len(records), *EVENTS))
    keys = {r.key for r in records}
    customers = {e["customer_id"].encode() for e in events}
    expect(keys == customers, "ключ кожної події — її customer_id", f"ключі: {short(sorted(k or b'' for k in keys), 90)}")
    spread = {}
    for r in records:
        spread.setdefault(r.key.decode(), set()).add(r.partition)
    split = {k: sorted(v) for k, v in spread.items() if len(v) > 1}
    expect(not split, "усі події клієнта в одній партиції", f"розкидані: {short(split, 90)}")


def check_keyed_order(ctx: Context) -> None:
    run = producer_run(ctx)
    records = sorted(run["records"], key=lambda r: (r.partition, r.offset))
    values = [decoded(r) for r in records]
    expect(all(isinstance(v, dict) for v in values), "значення — JSON подій", short(records[0].value if records else None))
    by_customer: dict[str, list[int]] = {}
    for v in values:
        by_customer.setdefault(v.get("customer_id"), []).append(v.get("seq"))
    out_of_order = {c: seqs for c, seqs in by_customer.items() if seqs != sorted(seqs)}
    expect(not out_of_order and len(values) == len(run["events"]),
           "події кожного клієнта в порядку відправлення", f"порушено порядок: {short(out_of_order, 90)}")


def check_json_values(ctx: Context) -> None:
    run = producer_run(ctx)
    got = sorted((decoded(r) or {} for r in run["records"]), key=lambda v: v.get("seq", -1))
    expect(got == run["events"], "значення — саме ці події в JSON (value_serializer)",
           short(got[:1]) if got else "нічого")
    expect(run["returned"] == len(run["events"]), f"publish_orders(...) → {len(run['events'])}", run["returned"])


# --- step 2: the group consumer -------------------------------------------------------------------


def consumer_run(ctx: Context) -> dict:
    if "ex09:consumer" not in ctx.scratch:
        topic, events = new_topic(ctx, "orders"), orders(ctx, 15)
        produce(ctx, topic, events)
        group = ctx.unique("analytics-service")
        made(ctx)["groups"].append(real(ctx, group))
        run = {"topic": topic, "events": events, "group": group}
        first = ctx.call("process_orders", topic, group, {}, FIRST_BATCH)
        expect_type(first, dict, f"process_orders(topic, group_id, {{}}, {FIRST_BATCH})")
        run["first"], run["first_committed"] = first, committed(ctx, topic, group)
        run["second"] = ctx.call("process_orders", topic, group, first, 100)
        run["second_committed"] = committed(ctx, topic, group)
        ctx.scratch["ex09:consumer"] = run
    return ctx.scratch["ex09:consumer"]


def processed_before(run: dict, offsets: dict[int, int]) -> list[dict]:
    """The events below the committed offsets: what the group says it has processed."""
    by_partition: dict[int, list[dict]] = {}
    for e in run["events"]:
        by_partition.setdefault(e["partition"], []).append(e)
    return [e for p, evs in by_partition.items() for e in evs[: offsets.get(p, 0)]]


def locate(ctx: Context, run: dict) -> None:
    """Which partition each event landed in (the checker's producer keyed them by customer)."""
    if "partition" not in run["events"][0]:
        where = {decoded(r)["seq"]: r.partition for r in read_all(ctx, run["topic"], len(run["events"]))}
        for e in run["events"]:
            e["partition"] = where.get(e["seq"], -1)


def clean(events: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "partition"} for e in events]


def check_commit_after_processing(ctx: Context) -> None:
    run = consumer_run(ctx)
    locate(ctx, run)
    done = sum(run["first_committed"].values())
    expect(done == FIRST_BATCH, f"після першого запуску група закомітила рівно {count(FIRST_BATCH, 'оброблену подію', 'оброблені події', 'оброблених подій')}",
           f"закомічено {done}" + (" (коміту немає)" if done == 0 else ""))
    wanted = totals_of(clean(processed_before(run, run["first_committed"])))
    expect(run["first"] == wanted, "підсумки саме тих подій, що закомічені", f"{short(run['first'], 100)}")


def check_restart_counts_once(ctx: Context) -> None:
    run = consumer_run(ctx)
    wanted = totals_of(run["events"])
    expect_type(run["second"], dict, "process_orders(...) після перезапуску")
    expect(run["second"] == wanted, "після перезапуску кожне замовлення пораховано рівно один раз",
           f"{short(run['second'], 100)}; правильно: {short(wanted, 100)}")
    done = sum(run["second_committed"].values())
    expect(done == len(run["events"]), f"закомічено всі {count(len(run['events']), *EVENTS)}", done)


# --- step 3: replay -------------------------------------------------------------------------------


def check_replay(ctx: Context) -> None:
    topic, events = new_topic(ctx, "orders"), orders(ctx, 12)
    produce(ctx, topic, events)
    wanted = totals_of(events)
    first = ctx.call("rebuild_totals", topic)
    expect(first == wanted, "rebuild_totals(topic) дорівнює підсумкам усіх подій", short(first, 120))
    more = orders(ctx, 3)
    produce(ctx, topic, more)
    again = ctx.call("rebuild_totals", topic)
    expect(again == totals_of(events + more), "повторний replay знову читає все з початку (і нові події)",
           short(again, 120))


USES = {"publish_orders": ("publish_orders",), "process_orders": ("process_orders",),
        "rebuild_totals": ("rebuild_totals",)}

EXERCISE = Exercise(
    id="ex09",
    title="Kafka: ключі, коміт після обробки, replay",
    brokers=("kafka",),
    teardown=teardown,
    checks=[
        Check("ex09.keyed_partition", 2, "publish_orders keys each event by customer_id: one partition per customer",
              "producer.send(topic, key=event['customer_id'], value=event) з key_serializer=str.encode; "
              "наприкінці producer.flush().",
              check_keyed_partition, USES["publish_orders"]),
        Check("ex09.keyed_order", 2, "each customer's events keep their order",
              "Надсилайте події по черзі, в тому порядку, в якому вони у списку; не змінюйте партицію вручну.",
              check_keyed_order, USES["publish_orders"]),
        Check("ex09.json_values", 1, "values are the events as JSON; publish_orders returns how many it sent",
              "value_serializer=JsonSerializer() (або lambda v: json.dumps(v).encode('utf-8')); поверніть len(events).",
              check_json_values, USES["publish_orders"]),
        Check("ex09.commit_after_processing", 2, "process_orders commits exactly the events it processed",
              "enable_auto_commit=False; обробіть подію (додайте amount до totals), і лише після обробки "
              "consumer.commit(). Не більше max_events подій за запуск: poll(..., max_records=...).",
              check_commit_after_processing, USES["process_orders"]),
        Check("ex09.restart_counts_once", 3, "after a restart of the group's consumer every order counts exactly once",
              "Новий консьюмер тієї ж групи продовжує з закоміченого offset: нічого не втрачено, нічого двічі. "
              "Не комітьте те, що ще не оброблено, і не забувайте комітити оброблене.",
              check_restart_counts_once, USES["process_orders"]),
        Check("ex09.replay", 3, "rebuild_totals replays the topic from the beginning into the same totals",
              "Без group_id: consumer.assign(усі партиції), consumer.seek_to_beginning(), poll, доки приходять події.",
              check_replay, USES["rebuild_totals"]),
    ],
)
