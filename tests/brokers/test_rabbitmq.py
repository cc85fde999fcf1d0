"""RabbitMQ as a lab component, and the lecture's RabbitMQ behaviours on the real server."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pika
import pytest

from labkit import cli
from labkit.brokers import RabbitMQSpec, fresh_name, restart
from labkit.brokers.rabbitmq import epmd_pids
from labkit.procs import alive, free_port
from labkit.stack import Stack, StackError
from tests.brokers.conftest import amqp_channel


def _get(ch, queue: str, timeout: float = 10.0, auto_ack: bool = True):
    """basic_get until a message arrives (a requeue after a lost consumer takes a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
        if method is not None:
            return method, props, body
        time.sleep(0.1)
    return None, None, None


def test_status_gives_the_amqp_url_the_management_api_and_the_server(lab_brokers, rabbit):
    status = next(s for s in lab_brokers.status() if s.name == "rabbitmq")
    assert status.health == "healthy" and status.managed and status.kind == "broker"
    assert status.details["amqp_url"] == rabbit.address and status.details["amqp_url"].startswith("amqp://")
    assert status.details["management_url"] == rabbit.management_url
    assert status.details["implementation"].startswith("RabbitMQ 3.") or status.details["implementation"].startswith("RabbitMQ 4.")
    assert status.rss_mb and status.rss_mb > 30


def test_node_is_private_to_the_state_folder_and_listens_on_loopback_only(lab_brokers, rabbit):
    home = lab_brokers.home
    node = rabbit.node_name(home)
    assert (home / "rabbitmq" / "mnesia" / node).is_dir()
    listeners = rabbit.management.get("overview")["listeners"]
    by_protocol = {l["protocol"]: l for l in listeners}
    assert by_protocol["amqp"]["port"] == rabbit.port and by_protocol["amqp"]["ip_address"] == "127.0.0.1"
    assert by_protocol["http"]["port"] == rabbit.management_port
    assert by_protocol["clustering"]["ip_address"] == "127.0.0.1"
    ports = json.loads((home / "rabbitmq" / "ports.json").read_text())
    assert len(epmd_pids(ports["epmd"])) == 1  # its own epmd, on its own port


def test_default_exchange_delivers_to_the_queue_named_by_the_routing_key(channel):
    queue = fresh_name("hello")
    channel.queue_declare(queue, auto_delete=True)
    channel.basic_publish(exchange="", routing_key=queue, body=b"Hello World!")
    method, _props, body = _get(channel, queue)
    assert body == b"Hello World!" and method.routing_key == queue


def test_topic_bindings_route_like_the_lecture(channel):
    exchange = fresh_name("logs")
    channel.exchange_declare(exchange, exchange_type="topic", auto_delete=True)
    queues = {}
    for pattern in ("error.*", "*.payment", "#"):
        queues[pattern] = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queues[pattern], exchange, routing_key=pattern)
    for key in ("error.payment", "info.auth", "warning.database", "error.payment.card"):
        channel.basic_publish(exchange, routing_key=key, body=key.encode())
    got = {}
    for pattern, queue in queues.items():
        got[pattern] = []
        while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
            got[pattern].append(message[2].decode())
    assert got == {
        "error.*": ["error.payment"],  # * is exactly one word: not error.payment.card
        "*.payment": ["error.payment"],
        "#": ["error.payment", "info.auth", "warning.database", "error.payment.card"],
    }


def test_durable_queue_keeps_persistent_messages_across_a_broker_restart(rabbit):
    durable, transient_queue = fresh_name("emails"), fresh_name("scratch")
    with amqp_channel(rabbit.address) as ch:
        ch.queue_declare(durable, durable=True)
        ch.queue_declare(transient_queue)
        ch.basic_publish("", durable, b"persistent", pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent))
        ch.basic_publish("", durable, b"transient")
        ch.basic_publish("", transient_queue, b"gone")
    restart("rabbitmq")
    with amqp_channel(rabbit.address) as ch:
        _method, _props, body = _get(ch, durable, timeout=2)
        assert body == b"persistent"
        assert ch.queue_declare(durable, passive=True).method.message_count == 0  # the transient one is lost
        ch.queue_delete(durable)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="NOT_FOUND"):
            ch.queue_declare(transient_queue, passive=True)  # a non-durable queue is gone altogether


CONSUMER_THAT_NEVER_ACKS = """
import pika, sys
connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
channel = connection.channel()
channel.basic_qos(prefetch_count=1)
def callback(ch, method, properties, body):
    print("got", body.decode(), "redelivered" if method.redelivered else "first", flush=True)
channel.basic_consume(queue=sys.argv[2], on_message_callback=callback)
channel.start_consuming()
"""


def test_message_comes_back_redelivered_when_its_consumer_dies_before_acking(rabbit, channel):
    queue = fresh_name("tasks")
    channel.queue_declare(queue, durable=True)
    channel.basic_publish("", queue, b"resize image 42")
    consumer = subprocess.Popen([sys.executable, "-c", CONSUMER_THAT_NEVER_ACKS, rabbit.address, queue],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert consumer.stdout.readline().split() == ["got", "resize", "image", "42", "first"]
        assert channel.queue_declare(queue, passive=True).method.message_count == 0  # delivered, unacked
    finally:
        consumer.kill()
        consumer.wait(timeout=10)
    method, _props, body = _get(channel, queue)
    assert body == b"resize image 42" and method.redelivered is True
    channel.queue_delete(queue)


def test_prefetch_1_gives_the_next_message_to_the_free_worker(channel, rabbit):
    queue = fresh_name("work")
    channel.queue_declare(queue, auto_delete=False)
    for n in range(4):
        channel.basic_publish("", queue, f"task {n}".encode())
    with amqp_channel(rabbit.address) as busy, amqp_channel(rabbit.address) as free:
        for ch in (busy, free):
            ch.basic_qos(prefetch_count=1)
        busy_tag = busy.basic_get(queue)[0]  # holds "task 0" unacked and does not ack
        seen = []
        for _ in range(3):
            method, _props, body = free.basic_get(queue)
            seen.append(body.decode())
            free.basic_ack(method.delivery_tag)
        assert seen == ["task 1", "task 2", "task 3"] and busy_tag is not None
    channel.queue_delete(queue)


def test_rejected_poison_message_is_dead_lettered_with_x_death(channel):
    dlx, work, dead = fresh_name("dlx"), fresh_name("orders"), fresh_name("orders-dead")
    channel.exchange_declare(dlx, "fanout", auto_delete=True)
    channel.queue_declare(dead, auto_delete=True)
    channel.queue_bind(dead, dlx)
    channel.queue_declare(work, auto_delete=True, arguments={"x-dead-letter-exchange": dlx})
    channel.basic_publish("", work, b"{not json")
    method, _props, _body = _get(channel, work, auto_ack=False)
    channel.basic_reject(method.delivery_tag, requeue=False)
    _m, props, body = _get(channel, dead)
    assert body == b"{not json"
    [death] = props.headers["x-death"]
    assert death["queue"] == work and death["reason"] == "rejected" and death["count"] == 1


def test_reset_deletes_the_labs_queues_and_exchanges(lab_brokers, channel, rabbit):
    queue, exchange = fresh_name("left-over"), fresh_name("left-over-x")
    channel.queue_declare(queue, durable=True)
    channel.exchange_declare(exchange, "direct", durable=True)
    lab_brokers.reset()
    names = {q["name"] for q in rabbit.management.queues()}
    exchanges = {e["name"] for e in rabbit.management.exchanges()}
    assert queue not in names and exchange not in exchanges
    assert "amq.topic" in exchanges  # the built-in ones stay


def test_a_taken_prometheus_plugin_port_is_reported_with_its_variable(tmp_path, monkeypatch):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        spec = RabbitMQSpec(f"amqp://guest:guest@127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}",
                            f"http://127.0.0.1:{port}")
        with pytest.raises(StackError, match=rf"port {port} \(the Prometheus plugin\) is taken by another program\. "
                                             r"Free the port, or set LAB_RABBITMQ_PROMETHEUS_URL to another address\."):
            Stack(home=tmp_path, components=[spec]).up(timeout=5)


def test_up_reports_a_taken_port_and_names_the_variable(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        spec = RabbitMQSpec(f"amqp://guest:guest@127.0.0.1:{port}", f"http://127.0.0.1:{free_port()}")
        with pytest.raises(StackError, match=rf"port {port} is taken by another program\. Free the port, "
                                             r"or set LAB_AMQP_URL to another address\."):
            Stack(home=tmp_path, components=[spec]).up(timeout=5)


def test_external_broker_is_checked_never_started(tmp_path):
    # 127.0.0.2 is loopback, but not an address `lab up` starts things on.
    spec = RabbitMQSpec(f"amqp://guest:guest@127.0.0.2:{free_port()}", f"http://127.0.0.2:{free_port()}")
    assert spec.external
    stack = Stack(home=tmp_path, components=[spec])
    with pytest.raises(StackError, match="rabbitmq is not answering at amqp://guest:guest@127.0.0.2"):
        stack.up(timeout=1)
    assert json.loads(stack.state_file.read_text())["components"] == {}


@pytest.mark.slow
def test_lab_up_status_down_from_a_fresh_state_folder_stops_the_node_and_its_epmd(tmp_path, monkeypatch, capsys):
    spec = RabbitMQSpec(f"amqp://guest:guest@127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}",
                        f"http://127.0.0.1:{free_port()}")
    stack = Stack(home=tmp_path / "home", components=[spec])
    monkeypatch.setattr(cli, "Stack", lambda home=None: stack)
    try:
        assert cli.main(["up", "-q"]) == 0
        capsys.readouterr()
        assert cli.main(["status", "--json"]) == 0
        [status] = json.loads(capsys.readouterr().out)["components"]
        assert status["health"] == "healthy" and status["details"]["management_url"] == spec.management_url
        epmd_port = json.loads((stack.home / "rabbitmq" / "ports.json").read_text())["epmd"]
        [epmd] = epmd_pids(epmd_port)
        pid = status["pid"]
    finally:
        assert cli.main(["down"]) == 0
    assert "rabbitmq: stopped its epmd" in capsys.readouterr().err
    assert not alive(pid) and not alive(epmd) and epmd_pids(epmd_port) == []
    assert not spec.ready()


def test_the_prometheus_plugin_serves_each_queues_depth(lab_brokers, rabbit, channel):
    from labkit.monitoring.exposition import sample_value, scrape

    queue = fresh_name("prom-depth")
    channel.queue_declare(queue)
    try:
        for n in range(7):
            channel.basic_publish("", queue, str(n).encode())
        path = "/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count"
        deadline = time.monotonic() + 15
        while (ready := sample_value(scrape(rabbit.prometheus_url, path), "rabbitmq_detailed_queue_messages_ready",
                                     default=-1, queue=queue)) != 7 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ready == 7
        totals = scrape(rabbit.prometheus_url)
        assert "rabbitmq_queues" in totals and "rabbitmq_build_info" in totals
        status = next(s for s in lab_brokers.status() if s.name == "rabbitmq")
        assert status.details["prometheus_url"] == rabbit.prometheus_url
    finally:
        channel.queue_delete(queue)
