"""Protocol-level readiness checks: is an AMQP or Kafka broker really answering?

A listening port is not enough (a stale process may hold it, a broker may listen
before it can serve). AMQP is checked with a real connection (pika: handshake, login,
vhost, close). For Kafka, a client library would be heavy and noisy when polled many
times a second during start-up, so the probe speaks just enough of the protocol: one
``Metadata`` request that lists the brokers and the cluster id.
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

KAFKA_METADATA_KEY = 3
KAFKA_METADATA_VERSION = 4  # not flexible (that starts at 9), has cluster_id (since 2)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the peer closed the connection")
        data += chunk
    return data


def amqp_ready(url: str, timeout: float = 2.0) -> bool:
    """True when an AMQP 0-9-1 broker at ``url`` accepts a connection (handshake, login, vhost)."""
    import pika

    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    try:
        pika.BlockingConnection(params).close()
    except Exception:  # noqa: BLE001 - pika's handshake failures are not all AMQPError; any of them means "not ready"
        return False
    return True


@dataclass(frozen=True)
class KafkaCluster:
    """What a Kafka ``Metadata`` response says about the cluster."""

    cluster_id: str | None
    controller_id: int
    brokers: list[tuple[int, str, int]]  # (node id, host, port) as advertised


def _string(buf: bytes, pos: int) -> tuple[str | None, int]:
    (length,) = struct.unpack_from(">h", buf, pos)
    pos += 2
    if length < 0:
        return None, pos
    return buf[pos:pos + length].decode("utf-8", "replace"), pos + length


def kafka_metadata(host: str, port: int, timeout: float = 1.0) -> KafkaCluster | None:
    """Ask a Kafka broker for its cluster metadata; None when nothing Kafka-like answers."""
    client_id = b"labkit-probe"
    body = struct.pack(">hhih", KAFKA_METADATA_KEY, KAFKA_METADATA_VERSION, 1, len(client_id)) + client_id
    body += struct.pack(">ib", 0, 0)  # no topics, do not auto-create
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exactly(sock, 4))
            if not 0 < size < 1 << 20:
                return None
            buf = _recv_exactly(sock, size)
        correlation_id, _throttle, n_brokers = struct.unpack_from(">iii", buf, 0)
        if correlation_id != 1 or not 0 <= n_brokers < 1000:
            return None
        pos, brokers = 12, []
        for _ in range(n_brokers):
            (node_id,) = struct.unpack_from(">i", buf, pos)
            broker_host, pos = _string(buf, pos + 4)
            (broker_port,) = struct.unpack_from(">i", buf, pos)
            _rack, pos = _string(buf, pos + 4)
            brokers.append((node_id, broker_host or "", broker_port))
        cluster_id, pos = _string(buf, pos)
        (controller_id,) = struct.unpack_from(">i", buf, pos)
    except (OSError, ConnectionError, struct.error, UnicodeError):
        return None
    return KafkaCluster(cluster_id=cluster_id, controller_id=controller_id, brokers=brokers)


def kafka_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka broker answers ``Metadata`` and names at least one live broker."""
    cluster = kafka_metadata(host, port, timeout)
    return bool(cluster and cluster.brokers)
