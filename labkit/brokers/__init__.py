"""The lab's message brokers, RabbitMQ and Kafka, and what notebooks and checks use to reach them.

In a notebook::

    import pika
    from labkit.brokers import amqp_url, kafka_bootstrap, queue_depth, watch_queues

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url()))
    queue_depth("emails")                    # {'ready': 3, 'unacked': 1, 'consumers': 1}
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap())

Both brokers are components of the stack (`lab up`/`down`/`status`/`reset`); see
``rabbitmq.py`` and ``kafka.py`` for how each is found or started.
"""
from __future__ import annotations

from ..config import amqp_url, kafka_bootstrap
from ..config import rabbitmq_management_url as management_url
from .kafka import KafkaSpec
from .rabbitmq import RabbitMQSpec
from .tools import fresh_name, kafka_implementation, new_topic, queue_depth, restart, wait_for_depth, watch_queues

RABBITMQ = RabbitMQSpec()
KAFKA = KafkaSpec()

__all__ = [
    "RABBITMQ", "KAFKA", "RabbitMQSpec", "KafkaSpec",
    "amqp_url", "management_url", "kafka_bootstrap",
    "queue_depth", "wait_for_depth", "watch_queues", "fresh_name", "new_topic", "kafka_implementation", "restart",
]
