"""lab grade on the broker exercises: ex08 (RabbitMQ) and ex09 (Kafka), run in the sandbox against the lab's brokers.

The session's brokers (tests/conftest.py ``lab_brokers``) stand for the lab's: the grader
finds them through LAB_AMQP_URL, LAB_RABBITMQ_MANAGEMENT_URL and LAB_KAFKA_BOOTSTRAP, gives
each submission a virtual host of its own on RabbitMQ and a turn on Kafka, and leaves both
as it found them. Planted sentinels show that no submission reached beyond its share.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import threading
import time

import pika
import pytest
import requests
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from labkit.grading import batch, catalog
from labkit.grading.brokers import PREFIX, BrokerSet
from labkit.grading.sandbox import Limits, SandboxStudent
from labkit.procs import free_port

from .conftest import (BROKER_PARTIALS, broker_partial_notebook, hostile_broker_cases, hostile_broker_notebook,
                       solution_path, starter_path)

POINTS = {"ex08": 18, "ex09": 13}
FULL = {ex: {c.id: c.points for c in catalog.exercise(ex).checks} for ex in POINTS}
# Wider than the defaults (60 s, 10 s): a CI machine runs the brokers and two sandboxes at once.
LIMITS = Limits(timeout=90, step_timeout=15)
SENTINEL = "lab-sentinel"  # a queue in RabbitMQ's default virtual host, a topic and a group in Kafka


@pytest.fixture(scope="module")
def lab(lab_brokers) -> dict[str, str]:
    """The lab's broker addresses, as the grader reads them."""
    return {k: os.environ[k] for k in ("LAB_AMQP_URL", "LAB_RABBITMQ_MANAGEMENT_URL", "LAB_KAFKA_BOOTSTRAP")}


def api(lab, path: str):
    resp = requests.get(f"{lab['LAB_RABBITMQ_MANAGEMENT_URL']}/api/{path}", auth=("guest", "guest"), timeout=10)
    resp.raise_for_status()
    return resp.json()


def broker_state(lab) -> dict:
    """What a submission must not change: the sentinels, RabbitMQ's virtual hosts and users, Kafka's topics and settings."""
    state: dict = {}
    connection = pika.BlockingConnection(pika.URLParameters(lab["LAB_AMQP_URL"]))
    try:
        state["queue"] = connection.channel().queue_declare(SENTINEL, passive=True).method.message_count
    finally:
        connection.close()
    state["queues_in_default_vhost"] = sorted(q["name"] for q in api(lab, "queues/%2F"))
    state["vhosts"] = sorted(v["name"] for v in api(lab, "vhosts"))
    state["users"] = sorted(u["name"] for u in api(lab, "users"))
    bootstrap = lab["LAB_KAFKA_BOOTSTRAP"]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        state["topics"] = sorted(admin.list_topics())
        state["groups"] = sorted(g[0] if isinstance(g, tuple) else g.get("group_id") for g in admin.list_groups())
        state["partitions"] = len(admin.describe_topics([SENTINEL])[0]["partitions"])
        state["broker_settings"] = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
    finally:
        admin.close()
    tp = TopicPartition(SENTINEL, 0)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=SENTINEL, enable_auto_commit=False)
    try:
        state["records"] = (consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp])
        state["committed"] = consumer.committed(tp)
    finally:
        consumer.close(autocommit=False)
    return state


@pytest.fixture(scope="module")
def sentinels(lab):
    """A queue with a message in RabbitMQ's "/", a topic of three records and a group at offset 1 in Kafka."""
    connection = pika.BlockingConnection(pika.URLParameters(lab["LAB_AMQP_URL"]))
    ch = connection.channel()
    ch.queue_declare(SENTINEL)
    ch.basic_publish("", SENTINEL, b"still here")
    connection.close()
    bootstrap = lab["LAB_KAFKA_BOOTSTRAP"]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(SENTINEL, 1, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for n in range(3):
        producer.send(SENTINEL, f"record {n}".encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=SENTINEL, enable_auto_commit=False)
    from kafka.structs import OffsetAndMetadata

    consumer.commit({TopicPartition(SENTINEL, 0): OffsetAndMetadata(1, "", -1)})
    consumer.close(autocommit=False)
    yield
    requests.delete(f"{lab['LAB_RABBITMQ_MANAGEMENT_URL']}/api/queues/%2F/{SENTINEL}", auth=("guest", "guest"), timeout=10)
    try:
        admin.delete_topics([SENTINEL])
        admin.delete_groups([SENTINEL])
    finally:
        admin.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, lab, sentinels):
    """One batch with two workers: solutions (the first two start together), partial work, starters and
    hostile submissions; the brokers' state before and after it."""
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("out")
    for student, make in (("a_solution", solution_path), ("b_solution", solution_path), ("starter", starter_path)):
        (subs / student).mkdir()
        for ex_id in POINTS:
            shutil.copy(make(ex_id), subs / student / make(ex_id).name)
    for ex_id in POINTS:
        broker_partial_notebook(ex_id, subs / "partial" / solution_path(ex_id).name)
    for case in hostile_broker_cases():  # the hostile cell in its exercise's solution, the other exercise as it should be
        hostile_broker_notebook(case, subs / f"hostile_{case.name}" / solution_path(case.exercise).name)
        other = next(ex_id for ex_id in POINTS if ex_id != case.exercise)
        shutil.copy(solution_path(other), subs / f"hostile_{case.name}" / solution_path(other).name)
    before = broker_state(lab)
    outcome = batch.grade(subs, out, limits=LIMITS, workers=2)
    return outcome, out, before, broker_state(lab)


def rows(out) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_solutions_score_full_marks_on_every_check_with_status_ok(graded):
    _, out, _, _ = graded
    for student in ("a_solution", "b_solution"):
        row = rows(out)[student]
        for ex_id, checks in FULL.items():
            assert {c: int(row[c]) for c in checks} == checks, row["notes"]
            assert row[ex_id] == str(POINTS[ex_id])
        assert (row["total"], row["status"]) == (str(sum(POINTS.values())), "ok"), row["notes"]


def test_starters_score_zero_and_each_check_says_not_implemented(graded):
    outcome, out, _, _ = graded
    row = rows(out)["starter"]
    assert all(row[c] == "0" for checks in FULL.values() for c in checks)
    assert row["total"] == "0" and "Not graded" not in row["notes"]
    starter = next(g for g in outcome.results if g.student == "starter")
    for report in starter.reports.values():
        assert all("ще не реалізовано" in r.message for r in report.results), report.to_text()


@pytest.mark.parametrize("ex_id", sorted(BROKER_PARTIALS))
def test_partial_work_loses_exactly_the_broken_checks(graded, ex_id):
    row = rows(graded[1])["partial"]
    lost = BROKER_PARTIALS[ex_id][2]
    assert {c: int(row[c]) for c in FULL[ex_id]} == {c: 0 if c in lost else p for c, p in FULL[ex_id].items()}
    assert row["status"] == "ok", row["notes"]


@pytest.mark.parametrize("case", hostile_broker_cases(), ids=lambda c: c.name)
def test_hostile_submission_is_contained_keeps_its_points_and_the_cut_connections_are_noted(graded, case):
    row = rows(graded[1])[f"hostile_{case.name}"]
    assert (row["status"], int(row[case.exercise])) == (case.status, case.points), row["notes"]
    assert int(row["total"]) == sum(POINTS.values()) - POINTS[case.exercise] + case.points
    for cut in case.cut:
        assert f"The grader cut a connection to a shared broker: {cut}." in row["notes"], row["notes"]


def test_the_brokers_are_left_as_the_batch_found_them(graded):
    _, _, before, after = graded
    assert after == before  # sentinels, virtual hosts, users, topics, groups, settings
    assert before["queue"] == 1 and before["records"] == (0, 3) and before["committed"] == 1
    assert before["partitions"] == 1 and "pwned-by-a-submission" not in before["queues_in_default_vhost"]
    assert not [v for v in after["vhosts"] if v.startswith(PREFIX)] and not [u for u in after["users"] if u.startswith(PREFIX)]


def test_gradebook_json_has_no_traceback_and_records_each_submissions_isolation(graded):
    _, out, _, _ = graded
    text = (out / "gradebook.json").read_text()
    assert "Traceback" not in text
    assert all(s["isolation"] for s in json.loads(text)["students"])


# --- what a sandbox reaches -------------------------------------------------------------------

PROBE = '''
import socket, requests, pika
from labkit import amqp_url, config, kafka_bootstrap

def tcp(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__

def amqp(url):
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
        connection.channel().queue_declare("probe")
        connection.close()
        return "ok"
    except Exception as exc:
        return type(exc).__name__

def vhosts(user=None, password=None):
    own = pika.URLParameters(amqp_url()).credentials
    try:
        resp = requests.get(config.rabbitmq_management_url() + "/api/vhosts", timeout=3,
                            auth=(user or own.username, password or own.password))
        return [v["name"] for v in resp.json()]
    except Exception as exc:
        return type(exc).__name__

def kafka(op):
    from kafka import KafkaAdminClient
    from kafka.admin import NewPartitions, NewTopic
    try:
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(), request_timeout_ms=3000)
        if op == "create":
            admin.create_topics([NewTopic("probe-topic", 1, 1)])
        elif op == "partitions":
            admin.create_partitions({"probe-topic": NewPartitions(4)})
        elif op == "delete":
            admin.delete_topics(["probe-topic"])
        admin.close()
        return "ok"
    except Exception as exc:
        return type(exc).__name__
'''


def ports(lab) -> dict[str, int]:
    return {"amqp": pika.URLParameters(lab["LAB_AMQP_URL"]).port,
            "management": int(lab["LAB_RABBITMQ_MANAGEMENT_URL"].rsplit(":", 1)[1]),
            "kafka": int(lab["LAB_KAFKA_BOOTSTRAP"].rsplit(":", 1)[1])}


def test_a_sandbox_reaches_its_own_rabbitmq_virtual_host_and_nothing_else(lab):
    lease = BrokerSet().lease(["rabbitmq"])
    vhost = pika.URLParameters(lease.env["LAB_AMQP_URL"]).virtual_host
    port = ports(lab)
    try:
        with SandboxStudent([{"index": 1, "source": PROBE}], services={}, limits=Limits(step_timeout=10),
                            endpoints=lease.endpoints, env=lease.env) as student:
            assert student.call("amqp", lease.env["LAB_AMQP_URL"]) == "ok"
            assert student.call("vhosts") == [vhost]  # the broker shows its user only its own
            if "own network" not in student.isolation:
                pytest.skip(f"no network namespace here (isolation: {student.isolation!r})")
            assert student.call("tcp", port["kafka"]) == "ConnectionRefusedError"  # not leased
            assert student.call("tcp", free_port()) == "ConnectionRefusedError"
            guest = f"amqp://guest:guest@127.0.0.1:{port['amqp']}"
            assert student.call("amqp", guest + "/%2F") != "ok"  # the lab's own virtual host: cut
            assert student.call("amqp", f"{guest}/{vhost}") != "ok"  # guest has no rights in the submission's
            assert student.call("vhosts", "guest", "guest") == "ConnectionError"  # the administrator: cut
            assert sorted(student.refused) == [
                "AMQP: opening virtual host '/', not its own",
                "HTTP: GET /api/vhosts without the submission's own credentials"]
    finally:
        lease.release()
    assert vhost not in [v["name"] for v in api(lab, "vhosts")]


def test_a_sandbox_reaches_kafka_for_clients_but_cannot_change_the_cluster(lab):
    lease = BrokerSet().lease(["kafka"])
    port = ports(lab)
    try:
        with SandboxStudent([{"index": 1, "source": PROBE}], services={}, limits=Limits(step_timeout=10),
                            endpoints=lease.endpoints, env=lease.env) as student:
            assert student.call("kafka", "create") == "ok"
            assert student.call("kafka", "partitions") == "KafkaConnectionError"
            assert student.call("kafka", "delete") == "ok"  # labkit.brokers.new_topic recreates topics so
            assert student.refused == ["Kafka: CreatePartitions, which the sandbox may not use"]
            if "own network" in student.isolation:
                assert student.call("tcp", port["amqp"]) == "ConnectionRefusedError"
                assert student.call("tcp", port["management"]) == "ConnectionRefusedError"
    finally:
        lease.release()


def test_each_rabbitmq_lease_is_a_virtual_host_of_its_own(lab):
    brokers = BrokerSet()
    first, second = brokers.lease(["rabbitmq"]), brokers.lease(["rabbitmq"])
    try:
        a, b = (pika.URLParameters(lease.env["LAB_AMQP_URL"]) for lease in (first, second))
        assert a.virtual_host != b.virtual_host and a.credentials.username != b.credentials.username
        a.virtual_host = b.virtual_host  # a's user in b's virtual host
        with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
            pika.BlockingConnection(a)
    finally:
        first.release()
        second.release()


NAMESPACED = '''
import json, time
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from labkit import kafka_bootstrap
from labkit.brokers import new_topic

def roundtrip(token):
    new_topic("ex09-orders", partitions=1)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap())
    producer.send("ex09-orders", token.encode()).get(timeout=10)
    producer.close()
    consumer = KafkaConsumer("ex09-orders", bootstrap_servers=kafka_bootstrap(), group_id="ex09-analytics",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    seen, deadline = [], time.monotonic() + 15
    while not seen and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            seen += [r.value.decode() for r in records]
    consumer.commit()
    consumer.close(autocommit=False)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap())
    topics = sorted(t for t in admin.list_topics() if not t.startswith("__"))
    groups = sorted(g[0] if isinstance(g, tuple) else g.get("group_id") for g in admin.list_groups())
    admin.close()
    return {"seen": seen, "topics": topics, "groups": groups}
'''


def test_two_kafka_namespaces_with_the_same_fixed_names_run_side_by_side_and_never_meet(lab):
    brokers = BrokerSet()
    leases = [brokers.lease(["kafka"]), brokers.lease(["kafka"])]  # no waiting for a turn
    prefixes = [lease.services["kafka-namespace"] for lease in leases]
    results: dict = {}
    try:
        def run(n: int) -> None:
            with SandboxStudent([{"index": 1, "source": NAMESPACED}], services={}, limits=Limits(step_timeout=40),
                                endpoints=leases[n].endpoints, env=leases[n].env) as student:
                results[n] = student.call("roundtrip", f"from {n}")

        threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        admin = KafkaAdminClient(bootstrap_servers=lab["LAB_KAFKA_BOOTSTRAP"])
        try:
            real = set(admin.list_topics())
        finally:
            admin.close()
        assert {prefix + "ex09-orders" for prefix in prefixes} <= real and "ex09-orders" not in real
    finally:
        for lease in leases:
            lease.release()
    for n in (0, 1):
        assert results[n] == {"seen": [f"from {n}"], "topics": ["ex09-orders"], "groups": ["ex09-analytics"]}
    admin = KafkaAdminClient(bootstrap_servers=lab["LAB_KAFKA_BOOTSTRAP"])
    try:
        assert not [t for t in admin.list_topics() if t.startswith(tuple(prefixes))]  # deleted with the lease
    finally:
        admin.close()


def test_a_stopped_broker_is_one_sentence_the_status_says_not_graded_and_the_rest_is_graded(tmp_path, monkeypatch):
    amqp, kafka = free_port(), free_port()
    monkeypatch.setenv("LAB_AMQP_URL", f"amqp://guest:guest@127.0.0.1:{amqp}")
    monkeypatch.setenv("LAB_RABBITMQ_MANAGEMENT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LAB_KAFKA_BOOTSTRAP", f"127.0.0.1:{kafka}")
    subs = tmp_path / "subs" / "alice"
    subs.mkdir(parents=True)
    for ex_id in ("ex03", *POINTS):
        shutil.copy(solution_path(ex_id), subs / solution_path(ex_id).name)
    started = time.monotonic()
    outcome = batch.grade(subs.parent, tmp_path / "out", limits=Limits(timeout=40, step_timeout=5), workers=1)
    [alice] = outcome.results
    assert time.monotonic() - started < 30  # the broker notebooks were not run
    assert (alice.status, alice.reports["ex03"].score, alice.total) == ("not_graded", 17, 17)
    assert f"Not graded: RabbitMQ is not running at 127.0.0.1:{amqp}: start it with `lab up`" in " | ".join(alice.notes)
    assert f"Not graded: Kafka is not running at 127.0.0.1:{kafka}: start it with `lab up`" in " | ".join(alice.notes)
    for ex_id, broker in (("ex08", "RabbitMQ"), ("ex09", "Kafka")):
        report = alice.reports[ex_id]
        assert report.score == 0 and len(report.notices) == 1
        assert all(r.message == report.notices[0] and r.message.startswith(f"Не перевірено: {broker}")
                   for r in report.results)
    assert "Traceback" not in (tmp_path / "out" / "gradebook.json").read_text()
