"""The Kafka proxy, message by message (no broker needed): names in, names out, what is refused."""
from __future__ import annotations

import uuid

import pytest
from kafka.protocol.admin import DeleteTopicsRequest, ListGroupsRequest, ListGroupsResponse
from kafka.protocol.consumer import FetchRequest, JoinGroupRequest, OffsetCommitRequest
from kafka.protocol.metadata import FindCoordinatorRequest, MetadataRequest, MetadataResponse
from kafka.protocol.producer import ProduceRequest

from labkit.grading.guards import Refused
from labkit.grading.kafka_namespace import FETCH_MAX_BYTES, Budget, KafkaNamespace

PREFIX = "lab-grade-1-2-abcd-"


def framed(message, version: int, correlation: int = 7) -> bytes:
    message.API_VERSION = version
    message.with_header(correlation_id=correlation, client_id="student")
    return bytes(message.encode(header=True, framed=True))


def sent(proxy: KafkaNamespace, data: bytes, cls, version: int):
    """What the proxy passes on to the broker, decoded."""
    out = proxy.feed(data)
    return cls.decode(out[4:], version=version, header=True)


def test_topic_names_and_group_ids_get_the_namespace_across_any_chunking():
    proxy = KafkaNamespace(PREFIX)
    data = framed(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="ex09-orders")]), 12)
    data += framed(OffsetCommitRequest(group_id="ex09-analytics", topics=[
        OffsetCommitRequest.OffsetCommitRequestTopic(name="ex09-orders", partitions=[])]), 8, correlation=8)
    out = b"".join(proxy.feed(data[i:i + 7]) for i in range(0, len(data), 7))
    first_size = int.from_bytes(out[:4], "big")
    metadata = MetadataRequest.decode(out[4:4 + first_size], version=12, header=True)
    commit = OffsetCommitRequest.decode(out[8 + first_size:], version=8, header=True)
    assert [t.name for t in metadata.topics] == [PREFIX + "ex09-orders"]
    assert metadata.header.client_id == "student" and metadata.header.correlation_id == 7
    assert (commit.group_id, commit.topics[0].name) == (PREFIX + "ex09-analytics", PREFIX + "ex09-orders")


@pytest.mark.parametrize("message,version,read", [
    (DeleteTopicsRequest(topic_names=["lab-sentinel"], timeout_ms=1000), 3, lambda m: m.topic_names),
    (JoinGroupRequest(group_id="lab-sentinel", session_timeout_ms=6000, member_id="", protocol_type="consumer",
                      protocols=[]), 5, lambda m: [m.group_id]),
    (FindCoordinatorRequest(key="lab-sentinel", key_type=0), 3, lambda m: [m.key]),
    (FindCoordinatorRequest(key_type=0, coordinator_keys=["lab-sentinel"]), 4, lambda m: m.coordinator_keys),
    (ProduceRequest(transactional_id=None, acks=1, timeout_ms=1000, topic_data=[
        ProduceRequest.TopicProduceData(name="lab-sentinel", partition_data=[])]), 9,
     lambda m: [t.name for t in m.topic_data]),
])
def test_no_request_can_name_anything_outside_its_namespace(message, version, read):
    assert read(sent(KafkaNamespace(PREFIX), framed(message, version), type(message), version)) == \
        [PREFIX + "lab-sentinel"]


def test_responses_lose_the_prefix_and_what_belongs_to_others():
    proxy = KafkaNamespace(PREFIX)
    proxy.feed(framed(MetadataRequest(topics=None), 12))
    own, other = uuid.uuid4(), uuid.uuid4()
    topic = MetadataResponse.MetadataResponseTopic
    response = MetadataResponse(throttle_time_ms=0, brokers=[], cluster_id="c", controller_id=1, topics=[
        topic(error_code=0, name=PREFIX + "ex09-orders", topic_id=own, is_internal=False, partitions=[]),
        topic(error_code=0, name="lab-sentinel", topic_id=other, is_internal=False, partitions=[]),
        topic(error_code=0, name="__consumer_offsets", topic_id=uuid.uuid4(), is_internal=True, partitions=[]),
    ])
    back = proxy.reply(framed(response, 12))
    seen = MetadataResponse.decode(back[4:], version=12, header=True)
    assert [t.name for t in seen.topics] == ["ex09-orders"]
    assert proxy.topic_ids == {str(own)}
    groups = ListGroupsResponse(error_code=0, groups=[
        ListGroupsResponse.ListedGroup(group_id=PREFIX + "ex09-analytics", protocol_type="consumer"),
        ListGroupsResponse.ListedGroup(group_id="lab-sentinel", protocol_type="consumer")])
    proxy.feed(framed(ListGroupsRequest(), 3, correlation=9))
    seen = ListGroupsResponse.decode(proxy.reply(framed(groups, 3, correlation=9))[4:], version=3, header=True)
    assert [g.group_id for g in seen.groups] == ["ex09-analytics"]


def test_a_topic_id_it_was_never_shown_is_refused():
    proxy = KafkaNamespace(PREFIX, topic_ids={str(uuid.UUID(int=5))})
    fetch = FetchRequest
    def request(topic_id):
        return framed(fetch(replica_id=-1, max_wait_ms=100, min_bytes=1, max_bytes=2**30, isolation_level=0,
                            session_id=0, session_epoch=-1, forgotten_topics_data=[], rack_id="",
                            topics=[fetch.FetchTopic(topic_id=topic_id, partitions=[])]), 13)
    passed = fetch.decode(proxy.feed(request(uuid.UUID(int=5)))[4:], version=13, header=True)
    assert passed.max_bytes == FETCH_MAX_BYTES  # capped
    with pytest.raises(Refused, match="a topic id outside its own namespace"):
        proxy.feed(request(uuid.UUID(int=6)))


@pytest.mark.parametrize("key,name", [(33, "AlterConfigs"), (44, "IncrementalAlterConfigs"), (21, "DeleteRecords"),
                                      (37, "CreatePartitions"), (30, "CreateAcls"), (32, "DescribeConfigs"),
                                      (4, "API key 4")])
def test_what_a_client_does_not_need_is_refused(key, name):
    frame = (key).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big") + b"\xff\xff"
    with pytest.raises(Refused, match=f"Kafka: {name}, which the sandbox may not use"):
        KafkaNamespace(PREFIX).feed(len(frame).to_bytes(4, "big") + frame)


def test_bytes_that_are_no_request_and_oversized_frames_are_refused():
    with pytest.raises(Refused, match="cannot read"):
        KafkaNamespace(PREFIX).feed((8).to_bytes(4, "big") + b"\x00\x03\x00\x0c\x00\x00\x00\x01")
    with pytest.raises(Refused, match="a frame of"):
        KafkaNamespace(PREFIX).feed((2**31 - 1).to_bytes(4, "big"))
    with pytest.raises(Refused, match="version 99"):
        frame = b"\x00\x03\x00\x63\x00\x00\x00\x01\xff\xff"
        KafkaNamespace(PREFIX).feed(len(frame).to_bytes(4, "big") + frame)


def test_produce_has_a_budget_shared_by_the_connections_of_one_submission():
    budget = Budget(total=300)
    request = framed(ProduceRequest(transactional_id=None, acks=1, timeout_ms=1000, topic_data=[
        ProduceRequest.TopicProduceData(name="t", partition_data=[])]), 9)
    KafkaNamespace(PREFIX, budget).feed(request)
    with pytest.raises(Refused, match="MiB produced"):
        for _ in range(10):
            KafkaNamespace(PREFIX, budget).feed(request)
