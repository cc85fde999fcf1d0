"""docker-compose.yml runs both brokers as the issue asks, and JupyterLab finds them by env."""
from __future__ import annotations

from tests.project.test_packaging import _compose_config


def test_compose_runs_rabbitmq_with_management_and_kafka_in_kraft_mode():
    services = _compose_config()["services"]
    assert services["rabbitmq"]["image"].startswith("rabbitmq:4-management")
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "-Xmx256m" in env["KAFKA_HEAP_OPTS"]
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert str(env[key]) == "1"


def test_kafka_listens_for_the_host_and_for_the_other_containers():
    services = _compose_config()["services"]
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert "//kafka:19092" in advertised and "//127.0.0.1:9092" in advertised
    assert services["jupyterlab"]["environment"]["LAB_KAFKA_BOOTSTRAP"] == "kafka:19092"


def test_jupyterlab_finds_the_brokers_by_env_and_waits_for_them_healthy():
    services = _compose_config()["services"]
    env = services["jupyterlab"]["environment"]
    assert env["LAB_AMQP_URL"].startswith("amqp://") and "@rabbitmq:5672" in env["LAB_AMQP_URL"]
    assert env["LAB_RABBITMQ_MANAGEMENT_URL"] == "http://rabbitmq:15672"
    for broker in ("rabbitmq", "kafka"):
        assert services["jupyterlab"]["depends_on"][broker] == {"condition": "service_healthy"}
        assert services[broker]["healthcheck"]["test"]
