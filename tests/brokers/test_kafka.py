"""Kafka as a lab component, and the lecture's Kafka behaviours: on Apache Kafka, and again on Tansu.

Where Tansu differs, the test says so and asserts Tansu's behaviour, so a Tansu
release that changes it shows up here.
"""
from __future__ import annotations

import pytest
from kafka import JsonSerializer, KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import NewTopic

from labkit.brokers import KafkaSpec, fresh_name, jars
from labkit.brokers import kafka as kafka_module
from labkit.procs import free_port
from labkit.stack import Stack, StackError

SESSION_TIMEOUT_MS = 6000  # Tansu holds each group join for half of it


def _topic(bootstrap: str, partitions: int = 3, **configs: str) -> str:
    name = fresh_name("orders")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
    finally:
        admin.close()
    return name


def _producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, key_serializer=str.encode, value_serializer=JsonSerializer())


def _consumer(bootstrap: str, *topics: str, group: str | None, **kwargs) -> KafkaConsumer:
    return KafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                         value_deserializer=JsonSerializer(), session_timeout_ms=SESSION_TIMEOUT_MS,
                         heartbeat_interval_ms=1000, **kwargs)


def _drain(consumer: KafkaConsumer, wanted: int, timeout_ms: int = 20000) -> list:
    """Poll until ``wanted`` records came, or ``timeout_ms`` passed with fewer."""
    records, waited = [], 0
    while len(records) < wanted and waited < timeout_ms:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
        waited += 500
    return records


def test_status_says_which_kafka_runs(kafka):
    details = kafka.spec.describe()
    assert details["bootstrap"] == kafka.bootstrap
    assert details["implementation"] == ("Tansu" if kafka.tansu else "Apache Kafka")


def test_same_key_goes_to_the_same_partition_in_order(kafka):
    topic = _topic(kafka.bootstrap)
    producer = _producer(kafka.bootstrap)
    sent = {}
    for n in range(12):
        customer = f"customer-{n % 4}"
        meta = producer.send(topic, key=customer, value={"order_id": n, "customer_id": customer}).get(timeout=10)
        sent.setdefault(customer, set()).add(meta.partition)
    producer.close()
    assert all(len(parts) == 1 for parts in sent.values())  # one partition per key
    consumer = _consumer(kafka.bootstrap, topic, group=None)
    records = _drain(consumer, 12)
    consumer.close()
    for customer in sent:
        orders = [r.value["order_id"] for r in records if r.key == customer.encode()]
        assert orders == sorted(orders) and len(orders) == 3


def test_committed_offsets_survive_a_consumer_restart(kafka):
    topic, group = _topic(kafka.bootstrap, partitions=1), fresh_name("analytics-service")
    producer = _producer(kafka.bootstrap)
    for n in range(10):
        producer.send(topic, key="k", value={"n": n})
    producer.flush()
    first = _consumer(kafka.bootstrap, topic, group=group, enable_auto_commit=False, max_poll_records=4)
    seen = [r.value["n"] for r in _drain(first, 4)][:4]
    first.commit({TopicPartition(topic, 0): OffsetAndMetadata(4, "", -1)})  # processed 0..3: next is 4
    first.close(autocommit=False)
    second = _consumer(kafka.bootstrap, topic, group=group, enable_auto_commit=False)
    rest = [r.value["n"] for r in _drain(second, 6)]
    assert second.committed(TopicPartition(topic, 0)) == 4
    second.close(autocommit=False)
    assert seen == [0, 1, 2, 3] and rest == [4, 5, 6, 7, 8, 9]  # nothing lost, nothing twice


def test_two_groups_each_read_every_event(kafka):
    topic = _topic(kafka.bootstrap)
    producer = _producer(kafka.bootstrap)
    for n in range(6):
        producer.send(topic, key=f"c{n}", value={"n": n})
    producer.close()
    counts = []
    for group in (fresh_name("analytics-service"), fresh_name("billing-service")):
        consumer = _consumer(kafka.bootstrap, topic, group=group)
        counts.append(sorted(r.value["n"] for r in _drain(consumer, 6)))
        consumer.close()
    assert counts == [list(range(6)), list(range(6))]


def test_end_offsets_count_the_messages_on_apache_kafka_but_not_on_tansu(kafka):
    topic = _topic(kafka.bootstrap, partitions=1)
    producer = _producer(kafka.bootstrap)
    for n in range(5):
        producer.send(topic, key="k", value={"n": n})
    producer.close()
    consumer = _consumer(kafka.bootstrap, group=None)
    end = consumer.end_offsets([TopicPartition(topic, 0)])[TopicPartition(topic, 0)]
    consumer.close()
    if kafka.tansu:
        assert end != 5  # Tansu's known bug: so 'latest', seek_to_end and lag are wrong there
    else:
        assert end == 5


def test_reset_deletes_topics_and_groups(kafka):
    topic, group = _topic(kafka.bootstrap, partitions=1), fresh_name("reset-group")
    consumer = _consumer(kafka.bootstrap, topic, group=group)
    _drain(consumer, 0, timeout_ms=1000)
    consumer.commit()
    consumer.close()
    kafka.spec.reset()
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        assert topic not in admin.list_topics()
        groups = {g[0] if isinstance(g, tuple) else g.get("group_id") for g in admin.list_groups()}
        assert group not in groups
    finally:
        admin.close()


def test_apache_kafka_runs_with_a_small_heap_and_its_data_under_the_state_folder(lab_brokers):
    folder = lab_brokers.home / "kafka"
    assert (folder / "data" / "meta.properties").exists()
    run = (folder / "run").read_text()
    assert "-Xmx256m" in run and "kafka.Kafka" in run and str(folder / "server.properties") in run
    props = dict(line.split("=", 1) for line in (folder / "server.properties").read_text().splitlines()
                 if "=" in line and not line.startswith("#"))
    assert props["process.roles"] == "broker,controller" and props["log.dirs"] == str(folder / "data")
    assert props["listeners"].startswith("PLAINTEXT://127.0.0.1:")


def _plan(tmp_path, monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    said = []
    spec = KafkaSpec(address="127.0.0.1:9")
    return spec._plan(tmp_path, said.append), said


def test_without_java_tansu_starts_instead_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(kafka_module, "java", lambda: None)
    plan, said = _plan(tmp_path, monkeypatch)
    assert plan.impl == "tansu" and plan.argv[1:3] == ["broker", "--cluster-id"]
    assert said == ["kafka: Java 17 or newer is not installed; starting Tansu, a Kafka-compatible broker, instead"]


def test_old_java_is_refused_when_apache_kafka_is_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(kafka_module, "java", lambda: ("/usr/bin/java", 11))
    with pytest.raises(StackError, match=r"Java 11 is too old for Kafka 4 \(it needs 17 or newer\)\. Install Java 17\+"):
        _plan(tmp_path, monkeypatch, LAB_KAFKA_IMPL="apache")


def test_an_unknown_implementation_is_refused_with_the_choices(tmp_path, monkeypatch):
    with pytest.raises(StackError, match="set it to 'apache', 'tansu' or 'auto'"):
        _plan(tmp_path, monkeypatch, LAB_KAFKA_IMPL="redpanda")


def test_a_kafka_release_folder_is_used_like_the_fetched_jars(tmp_path, monkeypatch):
    release = tmp_path / "kafka_2.13-4.4.0"
    (release / "libs").mkdir(parents=True)
    for jar in jars.cached_libs().glob("*.jar"):
        (release / "libs" / jar.name).symlink_to(jar)
    plan, said = _plan(tmp_path / "home", monkeypatch, KAFKA_HOME=str(release))
    assert plan.impl == "apache" and f"{release / 'libs'}/*" in plan.argv
    assert said[0] == "kafka: formatting its storage (first start only)"
    assert (tmp_path / "home" / "kafka" / "data" / "meta.properties").exists()


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch):
    # One random id in 64 would; `kafka-storage format --cluster-id -x...` reads it as an option.
    draws = iter([bytes([0xF8]) + bytes(15), bytes(16)])
    monkeypatch.setattr(kafka_module.uuid, "uuid4", lambda: type("U", (), {"bytes": next(draws)})())
    assert kafka_module.new_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"


def test_storage_formats_even_with_a_cluster_id_that_starts_with_a_dash(tmp_path, monkeypatch):
    monkeypatch.setattr(kafka_module, "new_cluster_id", lambda: "-" + "A" * 21)
    plan, _said = _plan(tmp_path, monkeypatch, LAB_KAFKA_IMPL="apache")
    meta = (tmp_path / "kafka" / "data" / "meta.properties").read_text()
    assert plan.impl == "apache" and "cluster.id=-AAAAAAAAAAAAAAAAAAAAA" in meta


def test_a_broker_that_fails_to_start_says_why_with_its_log(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_KAFKA_HEAP", "lots")
    stack = Stack(home=tmp_path, components=[KafkaSpec(address=f"127.0.0.1:{free_port()}", impl="apache")])
    with pytest.raises(StackError, match=r"(?s)formatting its storage failed.*Invalid maximum heap size: -Xmxlots"):
        stack.up(timeout=60)
    stack.down()
