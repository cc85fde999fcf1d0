"""The bus's events in Kafka: the topic every event is also appended to, and how to read it back.

RabbitMQ delivers an event and forgets it; Kafka keeps it (``lab.events``, keyed by the event's
subject, so one order's events stay in order in one partition). A read model can therefore be
dropped and rebuilt by replaying the topic from its beginning.
"""
from __future__ import annotations

import asyncio
import os
from typing import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ..brokers import kafka_bootstrap
from .envelope import Event, Poison, decode

TOPIC_PARTITIONS = 3


def topic() -> str:
    return os.environ.get("LAB_EVENTS_TOPIC") or "lab.events"


async def ensure_topic() -> None:
    """Create the events topic with its partitions (once; later calls find it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap(), request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic(), num_partitions=TOPIC_PARTITIONS, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def partitions() -> list[int]:
    """The topic's partitions (none if it does not exist yet), from the cluster's own description."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap(), request_timeout_ms=10_000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic()])
    finally:
        await admin.close()
    if described.get("error_code"):
        return []
    return sorted(p["partition"] for p in described.get("partitions", []))


async def replay(idle_s: float = 2.0) -> AsyncIterator[Event]:
    """Every event in the topic from its beginning, up to what was there when the replay started.

    It stops at the end offsets it read first, or after ``idle_s`` without a record (Tansu, the
    fallback broker, reports end offsets wrongly). Records that are not events are skipped.
    """
    found = await partitions()
    if not found:
        return  # nothing was ever appended
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap(), enable_auto_commit=False,
                                auto_offset_reset="earliest", request_timeout_ms=10_000)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic(), p) for p in found]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        done = {tp for tp in assigned if ends.get(tp, 0) == 0}
        while len(done) < len(assigned):
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=500)
            if not batch:
                break
            for tp, records in batch.items():
                for record in records:
                    if record.offset + 1 >= ends.get(tp, 0):
                        done.add(tp)
                    try:
                        yield decode(record.value)
                    except Poison:
                        continue
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
