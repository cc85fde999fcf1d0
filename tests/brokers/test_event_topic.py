"""The bus's history in Kafka (labservices.common.events.kafka): appended keyed by order, replayed in full.

Runs on Apache Kafka and on Tansu: Tansu's end offsets are wrong, so the replay also stops
after a quiet moment; that is what lets analytics rebuild its read model on either broker.
"""
from __future__ import annotations

import asyncio
import secrets
import uuid

from aiokafka import AIOKafkaProducer

from labservices.common.events import Event
from labservices.common.events import kafka as event_topic


def test_events_appended_by_order_are_replayed_all_and_in_order_per_order(kafka_env, monkeypatch):
    monkeypatch.setenv("LAB_EVENTS_TOPIC", f"lab.events.test-{secrets.token_hex(3)}")
    orders = [str(uuid.uuid4()) for _ in range(5)]
    sent = [Event(t, "/tests", o, {"order_id": o, "n": n}) for o in orders
            for n, t in enumerate(("OrderCreated", "InventoryReserved", "OrderShipped"))]

    async def scenario() -> list[Event]:
        await event_topic.ensure_topic()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_env.bootstrap)
        await producer.start()
        try:
            for event in sent:
                message = event.kafka_message()
                await producer.send_and_wait(event_topic.topic(), message.value, key=message.key)
        finally:
            await producer.stop()
        assert await event_topic.partitions() == [0, 1, 2]
        return [e async for e in event_topic.replay(idle_s=3.0)]

    replayed = asyncio.run(scenario())
    assert sorted(e.id for e in replayed) == sorted(e.id for e in sent)
    for order_id in orders:  # one order's events share a key, so a partition, so their order
        assert [e.data["n"] for e in replayed if e.subject == order_id] == [0, 1, 2]


def test_a_topic_never_written_replays_nothing(kafka_env, monkeypatch):
    monkeypatch.setenv("LAB_EVENTS_TOPIC", f"lab.events.empty-{secrets.token_hex(3)}")

    async def scenario() -> list:
        return [e async for e in event_topic.replay(idle_s=1.0)]

    assert asyncio.run(scenario()) == []
