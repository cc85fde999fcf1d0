"""The guards on the sandbox's connections to the shared brokers, byte by byte (no broker needed)."""
from __future__ import annotations

import base64
import socket
import struct

import pytest

from labkit.grading.guards import AmqpGuard, HttpAuthGuard, Refused, relay


def amqp_frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


def method(klass: int, number: int, args: bytes = b"") -> bytes:
    return struct.pack(">HH", klass, number) + args


def shortstr(text: str) -> bytes:
    return bytes([len(text)]) + text.encode()


def handshake(vhost: str) -> list[bytes]:
    """What pika sends up to Connection.Open, and the first frame after it."""
    return [AmqpGuard.HEADER,
            amqp_frame(1, 0, method(10, 11, b"\x00\x00\x00\x00" + shortstr("PLAIN") + b"\x00\x00\x00\x08\x00u\x00pass!" + shortstr("en_US"))),
            amqp_frame(1, 0, method(10, 31, struct.pack(">HIH", 2047, 131072, 60))),
            amqp_frame(1, 0, method(10, 40, shortstr(vhost) + shortstr("") + b"\x00")),
            amqp_frame(1, 1, method(20, 10, shortstr("")))]  # Channel.Open


def feed_bytewise(guard, chunks: list[bytes]) -> bytes:
    data = b"".join(chunks)
    return b"".join(guard.feed(data[i:i + 1]) for i in range(len(data)))


def test_amqp_guard_passes_the_handshake_into_its_own_virtual_host_and_everything_after():
    chunks = handshake("lab-grade-1-ab")
    assert feed_bytewise(AmqpGuard("lab-grade-1-ab"), chunks) == b"".join(chunks)
    guard = AmqpGuard("lab-grade-1-ab")
    assert b"".join(guard.feed(c) for c in chunks) == b"".join(chunks)
    assert guard.feed(b"anything at all") == b"anything at all"


@pytest.mark.parametrize("vhost", ["/", "lab-grade-1-other", "lab-grade-1-a"])
def test_amqp_guard_cuts_a_connection_opening_another_virtual_host(vhost):
    with pytest.raises(Refused, match=f"opening virtual host '{vhost}', not its own"):
        feed_bytewise(AmqpGuard("lab-grade-1-ab"), handshake(vhost))


@pytest.mark.parametrize("chunks", [
    [b"GET / HTTP/1.1\r\n\r\n"],  # not AMQP
    [AmqpGuard.HEADER, amqp_frame(1, 1, method(20, 10, shortstr("")))],  # a channel before Open
    [AmqpGuard.HEADER, amqp_frame(1, 0, method(60, 40, b""))],  # basic.publish before Open
    [AmqpGuard.HEADER, struct.pack(">BHI", 1, 0, 1 << 30)],  # an enormous frame
])
def test_amqp_guard_cuts_anything_but_a_handshake_before_the_connection_is_open(chunks):
    with pytest.raises(Refused):
        feed_bytewise(AmqpGuard("v"), chunks)


AUTH = "Basic " + base64.b64encode(b"lab-grade-1-ab:secret").decode()


def request(method_: str, path: str, auth: str | None = AUTH, body: bytes = b"", extra: str = "") -> bytes:
    head = f"{method_} {path} HTTP/1.1\r\nHost: x\r\n"
    if auth is not None:
        head += f"Authorization: {auth}\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return (head + extra + "\r\n").encode() + body


def test_http_guard_passes_pipelined_requests_with_its_own_credentials_bodies_included():
    body = b'{"x": "GET /api/vhosts HTTP/1.1\\r\\n\\r\\n"}'  # a body that looks like a request is still a body
    chunks = [request("GET", "/api/queues/v"), request("PUT", "/api/queues/v/q", body=body), request("DELETE", "/api/queues/v/q")]
    assert feed_bytewise(HttpAuthGuard(AUTH), chunks) == b"".join(chunks)


@pytest.mark.parametrize("data", [
    request("GET", "/api/vhosts", auth=None),
    request("GET", "/api/vhosts", auth="Basic " + base64.b64encode(b"guest:guest").decode()),
    request("GET", "/api/vhosts", extra=f"Authorization: {AUTH}\r\n"),  # two of them
    request("PUT", "/api/vhosts/x", extra="Transfer-Encoding: chunked\r\n"),
    request("GET", "/api/vhosts", extra="Cookie: m=guest\r\n"),
    request("GET", "/", extra="Content-Length: 1\r\nContent-Length: 2\r\n"),
    b"GARBAGE\r\n\r\n",
])
def test_http_guard_cuts_a_request_without_exactly_its_own_credentials_or_with_a_tricky_body(data):
    with pytest.raises(Refused):
        HttpAuthGuard(AUTH).feed(request("GET", "/api/overview") + data)


class Upper:
    """A guard that passes "ok" upwards, refuses anything else, and shouts the broker's answers."""

    def feed(self, data: bytes) -> bytes:
        if not data.startswith(b"ok"):
            raise Refused("not ok")
        return data

    def reply(self, data: bytes) -> bytes:
        return data.upper()


def test_relay_copies_both_ways_through_the_guard_and_closes_both_sides_when_it_refuses():
    sandbox, ours = socket.socketpair()
    broker, upstream = socket.socketpair()
    refused = []
    relay(ours, upstream, Upper(), refused.append)
    sandbox.sendall(b"ok 1")
    assert broker.recv(1024) == b"ok 1"
    broker.sendall(b"metadata")
    assert sandbox.recv(1024) == b"METADATA"
    sandbox.sendall(b"bad")
    sandbox.settimeout(5)
    broker.settimeout(5)
    assert sandbox.recv(1024) == b""  # cut
    assert broker.recv(1024) == b""  # the broker never sees the refused request
    assert refused == ["not ok"]
    for sock in (sandbox, broker):
        sock.close()
