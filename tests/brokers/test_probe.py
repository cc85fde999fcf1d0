"""The readiness probes: a real broker says yes, anything else (nothing, HTTP) says no."""
from __future__ import annotations

from labkit.brokers.probe import amqp_ready, kafka_metadata, kafka_ready
from labkit.procs import free_port


def test_kafka_metadata_names_the_broker_as_advertised(kafka):
    host, port = kafka.bootstrap.split(":")
    cluster = kafka_metadata(host, int(port))
    assert [(h, p) for _id, h, p in cluster.brokers] == [(host, int(port))]
    assert (cluster.cluster_id == "tansu-lab") is kafka.tansu


def test_amqp_probe_logs_in_to_the_real_broker(rabbit):
    assert amqp_ready(rabbit.address)
    assert not amqp_ready(rabbit.address.replace("guest:guest", "guest:wrong"))


def test_probes_say_no_to_a_closed_port():
    port = free_port()
    assert not amqp_ready(f"amqp://guest:guest@127.0.0.1:{port}")
    assert kafka_metadata("127.0.0.1", port) is None and not kafka_ready("127.0.0.1", port)


def test_probes_say_no_to_an_http_server(toy_url):
    port = int(toy_url.rsplit(":", 1)[1])
    assert kafka_metadata("127.0.0.1", port) is None
    assert not amqp_ready(f"amqp://guest:guest@127.0.0.1:{port}", timeout=1)


def test_kafka_probe_says_no_to_rabbitmq(rabbit):
    assert kafka_metadata(rabbit.host, rabbit.port) is None
