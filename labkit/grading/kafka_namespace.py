"""Kafka for one submission: its topics and groups under a prefix of its own, which it never sees.

Kafka has no virtual hosts, and the notebooks use fixed names (``new_topic("ex09-orders")``,
the group ``ex09-analytics``). So the grader gives each submission a namespace in the
proxy that every one of its Kafka connections runs through (see ``guards.relay``): each
request is decoded with kafka-python's own protocol classes (the same ones that encoded it
in the sandbox), every topic name, group id and transactional id in it gets the
submission's prefix, and each response has the prefix taken off again, with whatever
belongs to others dropped (a metadata request for every topic lists only the
submission's own). Topic ids a request carries must be ones the submission was shown.
So two submissions with the same fixed names work side by side, each sees an empty
Kafka of its own, and none can name, list or delete anything outside its namespace.

Only the APIs a client uses pass (:data:`CLIENT_APIS`): nothing that changes the
cluster for everyone (configs, ACLs, quotas, partitions, records, transactions). A
submission may produce at most :data:`PRODUCE_BUDGET` bytes; fetches are capped.
"""
from __future__ import annotations

import struct
import threading
import uuid

from .guards import Refused

PRODUCE_BUDGET = 64 * 2**20  # bytes one submission may write to Kafka, all connections together
# What the grader holds per connection is bounded both ways: a request of the sandbox's (a produce batch is
# at most a MiB by default), and a response, which the capped fetches keep near 2 MiB.
MAX_REQUEST, MAX_RESPONSE = 4 * 2**20, 16 * 2**20
FETCH_MAX_BYTES, FETCH_PARTITION_MAX_BYTES = 2 * 2**20, 2**20
ENTITIES = ("topicName", "groupId", "transactionalId")
# Kafka API keys a client needs; every one of them is renamed into the namespace.
CLIENT_APIS = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    22: "InitProducerId", 23: "OffsetForLeaderEpoch", 42: "DeleteGroups", 60: "DescribeCluster",
}
REFUSED_NAMES = {
    21: "DeleteRecords", 24: "AddPartitionsToTxn", 30: "CreateAcls", 31: "DeleteAcls", 32: "DescribeConfigs",
    33: "AlterConfigs", 34: "AlterReplicaLogDirs", 37: "CreatePartitions", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments", 47: "OffsetDelete",
    49: "AlterClientQuotas", 51: "AlterUserScramCredentials",
}
_REQUESTS: dict[int, type] = {}


def request_classes() -> dict[int, type]:
    """kafka-python's request message classes by API key (loaded once, on first use)."""
    if not _REQUESTS:
        import kafka.protocol.admin  # noqa: F401 - each import registers its messages
        import kafka.protocol.consumer  # noqa: F401
        import kafka.protocol.metadata  # noqa: F401
        import kafka.protocol.producer  # noqa: F401
        from kafka.protocol.api_message import ApiMessage

        stack = list(ApiMessage.__subclasses__())
        while stack:
            cls = stack.pop()
            stack.extend(cls.__subclasses__())
            try:
                if cls._class_version is None and cls.is_request():
                    _REQUESTS[cls.API_KEY] = cls
            except (AttributeError, TypeError):
                continue
    return _REQUESTS


class Budget:
    """Bytes a submission may still produce, shared by all its connections."""

    def __init__(self, total: int = PRODUCE_BUDGET) -> None:
        self.left = total
        self.lock = threading.Lock()

    def spend(self, size: int) -> None:
        with self.lock:
            if size > self.left:
                raise Refused(f"Kafka: more than {PRODUCE_BUDGET // 2**20} MiB produced")
            self.left -= size


class KafkaNamespace:
    """One connection's proxy: ``feed`` the sandbox's bytes (requests), ``reply`` the broker's (responses)."""

    def __init__(self, prefix: str, budget: Budget | None = None, topic_ids: set | None = None) -> None:
        self.prefix = prefix
        self.budget = budget or Budget()
        self.topic_ids = topic_ids if topic_ids is not None else set()  # shared by the lease's connections
        self.out = bytearray()
        self.back = bytearray()
        self.pending: dict[int, tuple[type, int, int]] = {}  # correlation id -> (response class, version, api key)
        self.lock = threading.Lock()

    # -- the sandbox's requests -----------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        self.out += data
        return b"".join(self._request(frame) for frame in _frames(self.out, MAX_REQUEST))

    def _request(self, frame: bytes) -> bytes:
        if len(frame) < 8:
            raise Refused("Kafka: a truncated request")
        key, version = struct.unpack(">hh", frame[:4])
        if key not in CLIENT_APIS:
            raise Refused(f"Kafka: {REFUSED_NAMES.get(key, f'API key {key}')}, which the sandbox may not use")
        cls = request_classes().get(key)
        if cls is None or not 0 <= version <= cls.max_version:
            raise Refused(f"Kafka: {CLIENT_APIS[key]} version {version}, which the grader cannot read")
        try:
            request = cls.decode(frame, version=version, header=True)
        except Exception:  # noqa: BLE001 - whatever the bytes were, they are not a request
            raise Refused(f"Kafka: a {CLIENT_APIS[key]} request the grader cannot read") from None
        if key == 0:
            self.budget.spend(len(frame))
        elif key == 1:
            _cap_fetch(request)
        self._walk(request, cls._struct, version, self._into)
        if key == 10:  # FindCoordinator's keys are group or transaction ids without an entity type
            if getattr(request, "key", None):
                request.key = self._into(request.key)
            if getattr(request, "coordinator_keys", None):
                request.coordinator_keys = [self._into(k) for k in request.coordinator_keys]
        response = request.header.get_response_class()
        if response is not None and request.expect_response():
            with self.lock:
                self.pending[request.header.correlation_id] = (response, version, key)
        return bytes(request.encode(header=True, framed=True))

    def _into(self, name, kind: str = ""):
        if name is None:
            return None
        if not isinstance(name, str) or len(name) > 200:
            raise Refused("Kafka: a name that is not a short string")
        return self.prefix + name

    def _check_id(self, topic_id) -> None:
        if topic_id and str(topic_id) != str(uuid.UUID(int=0)) and str(topic_id) not in self.topic_ids:
            raise Refused("Kafka: a topic id outside its own namespace")

    # -- the broker's responses ----------------------------------------------------------------------

    def reply(self, data: bytes) -> bytes:
        self.back += data
        return b"".join(self._response(frame) for frame in _frames(self.back, MAX_RESPONSE, size_prefix=True))

    def _response(self, frame: bytes) -> bytes:
        correlation = struct.unpack(">i", frame[4:8])[0]
        with self.lock:
            entry = self.pending.pop(correlation, None)
        if entry is None:
            return frame  # not an answer to a request of this connection: the sandbox's client will drop it
        cls, version, key = entry
        response = cls.decode(frame[4:], version=version, header=True)
        self._walk(response, cls._struct, version, self._out_of)
        if key == 10 and getattr(response, "coordinators", None):
            for coordinator in response.coordinators:
                coordinator.key = self._out_of(coordinator.key) or coordinator.key
        return bytes(response.encode(header=True, framed=True))

    def _out_of(self, name, kind: str = ""):
        if isinstance(name, str) and name.startswith(self.prefix):
            return name[len(self.prefix):]
        return None if name is None else _FOREIGN

    # -- both ways ------------------------------------------------------------------------------------

    def _walk(self, obj, struct_field, version: int, rename) -> None:
        """Rename every entity in ``obj`` (a decoded message or struct); drop foreign items from responses."""
        names = {}
        for field in struct_field.fields.values():
            if not field.for_version_q(version):
                continue
            value = getattr(obj, field.name, None)
            entity = field._entity_type
            if entity in ENTITIES and field.is_array() and not field.is_struct_array():
                setattr(obj, field.name, None if value is None else
                        [n for n in (rename(v, entity) for v in value) if n is not _FOREIGN])
            elif entity in ENTITIES:
                names[field.name] = rename(value, entity)
                setattr(obj, field.name, names[field.name] if names[field.name] is not _FOREIGN else value)
            elif field.name == "topic_id" and rename == self._into:
                self._check_id(value)
            elif field.is_struct_array() and value is not None:
                kept = []
                for item in value:
                    if self._walk(item, field.array_of, version, rename) is not _FOREIGN:
                        kept.append(item)
                if isinstance(value, list):
                    setattr(obj, field.name, kept)
            elif field.is_struct() and value is not None:
                self._walk(value, field, version, rename)
        if rename == self._out_of:
            if any(n is _FOREIGN for n in names.values()):
                return _FOREIGN
            topic_id = getattr(obj, "topic_id", None)
            if topic_id and "name" in names:
                self.topic_ids.add(str(topic_id))
        return None


_FOREIGN = object()  # a name outside the namespace, in a response: the item is dropped


def _cap_fetch(request) -> None:
    if getattr(request, "max_bytes", None) is not None:
        request.max_bytes = min(request.max_bytes, FETCH_MAX_BYTES)
    for topic in getattr(request, "topics", None) or []:
        for partition in getattr(topic, "partitions", None) or []:
            if getattr(partition, "partition_max_bytes", None) is not None:
                partition.partition_max_bytes = min(partition.partition_max_bytes, FETCH_PARTITION_MAX_BYTES)


def _frames(buf: bytearray, limit: int, size_prefix: bool = False):
    """Complete frames (``int32 size`` + body) taken off ``buf``: bodies, or whole frames with ``size_prefix``."""
    while len(buf) >= 4:
        size = struct.unpack(">i", buf[:4])[0]
        if not 0 <= size <= limit:
            raise Refused(f"Kafka: a frame of {size} bytes")
        if len(buf) < size + 4:
            return
        frame = bytes(buf[: size + 4])
        del buf[: size + 4]
        yield frame if size_prefix else frame[4:]
