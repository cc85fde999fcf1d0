"""A raw HTTP/1.1 client for hostile requests: the bytes go out exactly as written.

``requests`` and ``httpx`` refuse to send a control character in a header or quote a path
for us; an attacker's client does neither, so the hostile tests write the request by hand.
"""
from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(base_url: str, method: str, target: str | bytes, headers: Iterable[tuple[str | bytes, str | bytes]] = (),
         body: bytes | None = None, chunks: Iterable[bytes] | None = None, timeout: float = 20) -> Answer:
    """Send one request to ``base_url`` (``target`` is the raw request-target); read the whole answer."""
    parts = urlsplit(base_url)
    raw = [_b(method) + b" " + _b(target) + b" HTTP/1.1", b"Host: " + _b(parts.netloc), b"Connection: close"]
    raw += [_b(k) + b": " + _b(v) for k, v in headers]
    if chunks is not None:
        raw.append(b"Transfer-Encoding: chunked")
    elif body is not None:
        raw.append(b"Content-Length: " + str(len(body)).encode())
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(b"\r\n".join(raw) + b"\r\n\r\n")
        try:
            if chunks is not None:
                for chunk in chunks:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            elif body:
                sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (413) and closed: its answer is still there to read
        return _read(sock)


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _read(sock: socket.socket) -> Answer:
    data = b""
    while True:
        try:
            block = sock.recv(65536)
        except ConnectionResetError:
            break
        if not block:
            break
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or len(lines[0].split(" ")) < 2:
        raise ConnectionError(f"no HTTP answer, got {data[:200]!r}")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    return Answer(status, headers, body)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out
