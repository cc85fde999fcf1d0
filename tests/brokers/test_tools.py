"""The notebook helpers: queue depths from the management API, the live depth chart, restarts, names."""
from __future__ import annotations

import pytest

from labkit import brokers
from labkit.brokers import tools


@pytest.fixture
def rabbit_env(rabbit, monkeypatch):
    monkeypatch.setenv("LAB_AMQP_URL", rabbit.address)
    monkeypatch.setenv("LAB_RABBITMQ_MANAGEMENT_URL", rabbit.management_url)
    return rabbit


def test_queue_depth_counts_ready_and_unacked_messages(rabbit_env, channel):
    queue = brokers.fresh_name("emails")
    channel.queue_declare(queue, auto_delete=False)
    for n in range(3):
        channel.basic_publish("", queue, f"email {n}".encode())
    method, _p, _b = channel.basic_get(queue)  # one delivered, not acked yet
    depth = brokers.wait_for_depth(queue, ready=2, unacked=1)
    assert depth == {"ready": 2, "unacked": 1, "total": 3, "consumers": 0}
    channel.basic_ack(method.delivery_tag)
    channel.queue_delete(queue)


def test_queue_depth_of_a_missing_queue_says_what_to_do(rabbit_env):
    with pytest.raises(tools.BrokerUnavailable, match="Черги 'nope-123' у RabbitMQ немає: спершу оголосіть її"):
        brokers.queue_depth("nope-123")


def test_queue_depth_without_a_broker_says_to_start_it(monkeypatch):
    from labkit.procs import free_port

    monkeypatch.setenv("LAB_RABBITMQ_MANAGEMENT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(tools.BrokerUnavailable, match="запустіть брокери командою `lab up`"):
        brokers.queue_depth("emails")


def test_watch_queues_draws_bars_and_a_sparkline_then_stops(rabbit_env, channel):
    queue = brokers.fresh_name("watched")
    channel.queue_declare(queue, auto_delete=False)
    channel.basic_publish("", queue, b"x")
    brokers.wait_for_depth(queue, ready=1)
    watch = brokers.watch_queues([queue, "missing-queue"], seconds=1, interval=0.2)
    watch.thread.join(timeout=10)
    html = watch.widget.value
    assert queue in html and "1 готові · 0 без ack" in html and "<svg" in html
    assert "черги немає" in html and "спостереження завершено" in html
    assert list(watch.history[queue])[-1] == 1
    channel.queue_delete(queue)


def test_sparkline_scales_to_the_peak():
    svg = tools.sparkline([0, 5, 10], peak=10, width=100, height=30)
    assert "points='0.0,28.0 50.0,15.0 100.0,2.0'" in svg


def test_fresh_names_differ():
    assert brokers.fresh_name("orders") != brokers.fresh_name("orders")


def test_kafka_implementation_names_the_running_broker(kafka_env):
    assert brokers.kafka_implementation() == ("Tansu" if kafka_env.tansu else "Apache Kafka")


def test_restart_refuses_an_external_broker(monkeypatch):
    monkeypatch.setenv("LAB_AMQP_URL", "amqp://guest:guest@rabbitmq:5672")
    with pytest.raises(tools.BrokerUnavailable, match="docker compose restart rabbitmq"):
        brokers.restart("rabbitmq")


def test_restart_of_an_unknown_broker_names_the_known_ones():
    with pytest.raises(tools.BrokerUnavailable, match="'rabbitmq' або 'kafka'"):
        brokers.restart("activemq")


@pytest.mark.parametrize("address,vhost", [
    ("amqp://guest:guest@127.0.0.1:5672", "/"),
    ("amqp://guest:guest@127.0.0.1:5672/", "/"),
    ("amqp://u:p@127.0.0.1:5672/lab-grade-abc", "lab-grade-abc"),
    ("amqp://u:p@127.0.0.1:5672/%2F", "/"),
])
def test_queue_depth_reads_the_vhost_of_the_amqp_url(monkeypatch, address, vhost):
    from labkit.brokers.tools import default_vhost

    monkeypatch.setenv("LAB_AMQP_URL", address)
    assert default_vhost() == vhost
