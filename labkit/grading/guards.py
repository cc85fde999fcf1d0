"""What the grader lets through when a sandbox talks to one of the lab's brokers.

A sandbox reaches the network only through the grader (the bridge in ``sandbox``).
The HTTP services are private to a worker, so the bridge hands the sandbox a plain
connection to them. The brokers are the lab's own, shared by every worker, so each
of their connections runs through a guard in the grader's process: it reads what
the sandbox sends and cuts the connection at the first thing outside the
submission's share. What the broker sends back is copied as it is.

- :class:`AmqpGuard`: the connection must open the submission's own virtual host.
- :class:`HttpAuthGuard` (RabbitMQ's management API): every request carries the
  submission's own credentials (a user that sees only its virtual host), and a body
  only with one ``Content-Length``.
- ``kafka_namespace.KafkaNamespace``: Kafka requests of the client APIs only, renamed
  into the submission's own namespace (and its responses renamed back).
"""
from __future__ import annotations

import socket
import struct
import threading
from typing import Callable


class Refused(Exception):
    """The sandbox sent something its share does not allow; the message says what."""


class AmqpGuard:
    """AMQP 0-9-1: the connection handshake may only open ``vhost``; after that, everything passes."""

    HEADER = b"AMQP\x00\x00\x09\x01"
    MAX_FRAME = 1 << 17
    # Connection.StartOk, SecureOk, TuneOk, Close, CloseOk: what a client sends before Open.
    HANDSHAKE = {11, 21, 31, 50, 51}

    def __init__(self, vhost: str) -> None:
        self.vhost = vhost
        self.buf = b""
        self.header = False
        self.opened = False

    def feed(self, data: bytes) -> bytes:
        if self.opened:
            return data
        self.buf += data
        out = b""
        if not self.header:
            if self.buf[:8] != self.HEADER[:len(self.buf[:8])]:
                raise Refused("AMQP: not an AMQP 0-9-1 client")
            if len(self.buf) < 8:
                return out
            out, self.buf, self.header = self.buf[:8], self.buf[8:], True
        while len(self.buf) >= 7:
            kind, channel, size = struct.unpack(">BHI", self.buf[:7])
            if size > self.MAX_FRAME:
                raise Refused("AMQP: an oversized frame before the connection was open")
            if len(self.buf) < size + 8:
                break
            frame, self.buf = self.buf[:size + 8], self.buf[size + 8:]
            if frame[-1] != 0xCE or channel != 0 or kind not in (1, 8):
                raise Refused("AMQP: a frame outside the connection handshake before the connection was open")
            if kind == 1:
                self._method(frame[7:7 + size])
            out += frame
            if self.opened:
                out, self.buf = out + self.buf, b""
                break
        return out

    def _method(self, payload: bytes) -> None:
        if len(payload) < 4:
            raise Refused("AMQP: a truncated method frame")
        klass, method = struct.unpack(">HH", payload[:4])
        if klass != 10:
            raise Refused("AMQP: a method outside the connection class before the connection was open")
        if method == 40:  # Connection.Open: shortstr virtual host first
            length = payload[4] if len(payload) > 4 else 0
            vhost = payload[5:5 + length].decode("utf-8", "replace")
            if vhost != self.vhost:
                raise Refused(f"AMQP: opening virtual host {vhost!r}, not its own")
            self.opened = True
        elif method not in self.HANDSHAKE:
            raise Refused(f"AMQP: connection method {method} before the connection was open")


class HttpAuthGuard:
    """HTTP/1.1 requests, one after another, each with exactly our ``Authorization`` and a plain body."""

    MAX_HEAD = 16 * 1024
    MAX_BODY = 1 << 20

    def __init__(self, authorization: str) -> None:
        self.authorization = authorization
        self.buf = b""
        self.body_left = 0

    def feed(self, data: bytes) -> bytes:
        self.buf += data
        out = b""
        while self.buf:
            if self.body_left:
                take = self.buf[:self.body_left]
                out, self.buf, self.body_left = out + take, self.buf[len(take):], self.body_left - len(take)
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > self.MAX_HEAD:
                    raise Refused("HTTP: an oversized request head")
                break
            head, self.buf = self.buf[:end + 4], self.buf[end + 4:]
            self.body_left = self._check(head)
            out += head
        return out

    def _check(self, head: bytes) -> int:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise Refused("HTTP: not an HTTP/1.x request")
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or name != name.strip() or not name:
                raise Refused("HTTP: a malformed header")
            headers.setdefault(name.lower(), []).append(value.strip())
        if headers.get("authorization") != [self.authorization]:
            raise Refused(f"HTTP: {parts[0]} {parts[1][:80]} without the submission's own credentials")
        if "cookie" in headers or "transfer-encoding" in headers:
            raise Refused("HTTP: cookies and chunked bodies are not let through")
        lengths = headers.get("content-length", ["0"])
        if len(lengths) != 1 or not lengths[0].isdigit() or int(lengths[0]) > self.MAX_BODY:
            raise Refused("HTTP: a body without one plain Content-Length")
        return int(lengths[0])


def relay(client: socket.socket, upstream: socket.socket, guard, on_refused: Callable[[str], None]) -> None:
    """Copy the sandbox's bytes through ``guard.feed`` and the broker's through ``guard.reply`` (or as they are,
    for a guard without one); close both sides at the end."""
    answer = getattr(guard, "reply", None)
    left = [2]
    lock = threading.Lock()

    def finish() -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                client.close()
                upstream.close()

    def shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(why: str | None) -> None:
        """Both ways: the sandbox learns nothing more on this connection, and the broker gets nothing more."""
        if why:
            on_refused(why)
        for sock in (client, upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def outbound() -> None:
        try:
            while data := client.recv(65536):
                passed = guard.feed(data)
                if passed:
                    upstream.sendall(passed)
            shut(upstream)
        except Refused as refused:
            cut(str(refused))
        except OSError:
            shut(upstream)
        except Exception as exc:  # noqa: BLE001 - bytes the guard could not handle: cut, as for a refusal
            cut(f"a request the grader could not read ({type(exc).__name__})")
        finish()

    def inbound() -> None:
        try:
            while data := upstream.recv(65536):
                passed = answer(data) if answer else data
                if passed:
                    client.sendall(passed)
        except Refused as refused:
            cut(str(refused))
        except OSError:
            pass
        except Exception:  # noqa: BLE001 - a response the guard cannot read: the connection ends, the grader goes on
            cut(None)
        shut(client)
        finish()

    threading.Thread(target=outbound, daemon=True, name="lab-guard-out").start()
    threading.Thread(target=inbound, daemon=True, name="lab-guard-in").start()
