"""Hostile input for every operation of every declared service: a 4xx in the envelope, never a 5xx.

Schemathesis generates what the schemas allow and a little beyond; these are the inputs real
attackers and broken clients send, written out by hand and sent as raw bytes
(``rawhttp``): control characters, invalid UTF-8, lone surrogates and Unicode digits in
paths, queries and headers; numbers past every range; JSON nested past Python's stack; bodies
over the size limit sent in chunks. Each operation of each document gets each of them, with
the service's sandbox credentials, so the input reaches the code behind authentication.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import quote

import pytest

from .documents import openapi_documents
from .rawhttp import Answer, send
from .allowlist import xfail_if_known
from .services import CREDENTIALS, JWT_SIGNERS

# Text a client controls, as the raw bytes it sends (percent-encoded where it goes into a URL).
HOSTILE_TEXT: dict[str, bytes] = {
    "nul": b"\x00",
    "control-characters": b"\x01\x08\x1b[31m\x7f",
    "crlf": b"a\r\nSet-Cookie: x=1",
    "invalid-utf8": b"\xff\xfe\xc3",
    "lone-surrogate": b"\xed\xa0\x80",
    "arabic-digit": "٢".encode(),
    "superscript-digit": "²".encode(),
    "fullwidth-digits": "１２".encode(),
    "5000-digits": b"9" * 5000,
    "huge-float": b"1e999",
    "nan": b"NaN",
    "negative": b"-1",
    "right-to-left": "\u202egnp.exe".encode(),
    "emoji": "💥".encode() * 40,
    "traversal": b"../../../../etc/passwd",
    "long": b"a" * 8000,
}
# Header values travel as bytes: CR, LF and NUL are refused by the HTTP parser itself.
HEADER_TEXT = {k: v for k, v in HOSTILE_TEXT.items() if not re.search(rb"[\r\n\x00]", v)}
COMMON_HEADERS = ["Accept", "Accept-Language", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key",
                  "X-Request-ID", "traceparent", "tracestate", "Cookie", "Origin", "Range", "Forwarded"]
CREDENTIAL_HEADERS = ["Authorization", "X-API-Key"]
CREDENTIAL_NAMES = {n.lower() for n in CREDENTIAL_HEADERS}
ACCEPT_VERSIONS = [b"application/vnd.company.v" + b"9" * 5000 + b"+json",
                   "application/vnd.company.v٢+json".encode(), b"application/vnd.company.v0+json"]


def deep(depth: int, kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


HOSTILE_BODIES: dict[str, bytes] = {
    "deep-array-100k": deep(100_000),
    "deep-object-50k": deep(50_000, "object"),
    "deep-array-900": deep(900),
    "deep-object-3000": deep(3000, "object"),
    "5000-digit-integer": b'{"amount": 1' + b"0" * 5000 + b"}",
    "huge-exponent": b'{"amount": 1e999, "price": -1e999}',
    "nan-and-infinity": b'{"amount": NaN, "price": Infinity, "latency_ms": -Infinity}',
    "lone-surrogate-escape": b'{"name": "\\ud800", "text": "\\udfff\\ud800"}',
    "nul-escape": b'{"name": "a\\u0000b", "url": "http://127.0.0.1/\\u0000"}',
    "invalid-utf8": b'{"name": "\xff\xfe"}',
    "not-json": b"<xml>nope</xml>",
    "empty": b"",
    "top-level-scalars": b"12345678901234567890123456789",
    "duplicate-keys": b'{"a": 1, "a": {"b": [1, 2]}}',
}
ANSWERED_BY_SERVER = b"Invalid HTTP request received."  # uvicorn's own 400 for bytes that are not HTTP


def operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for service, doc in openapi_documents().items():
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                if method in ("get", "put", "post", "patch", "delete"):
                    yield service, path, method, operation


OPERATIONS = list(operations())
IDS = [f"{s}:{m.upper()} {p}" for s, p, m, _ in OPERATIONS]


def credentials(service: str) -> list[tuple[str, str]]:
    """Headers that authenticate as the service's sandbox caller (so input reaches the code behind auth)."""
    doc = openapi_documents()[service]
    schemes = doc.get("components", {}).get("securitySchemes", {})
    headers = []
    for name, auth in CREDENTIALS.get(service, {}).items():
        scheme = schemes.get(name, {})
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            headers.append((scheme["name"], auth["api_key"]))
    return headers


def fill(path: str, value: bytes | None = None, only: str | None = None) -> bytes:
    """The path with every parameter set to a plain value, or ``only`` (every one if None) set to ``value``."""
    def sub(match: re.Match) -> str:
        if value is not None and (only is None or match[1] == only):
            return quote(value, safe="")
        return "1"
    return re.sub(r"\{([^}]+)\}", sub, path).encode()


def assert_refused_cleanly(answer: Answer, what: str, operation: dict[str, Any] | None = None) -> None:
    """No 5xx; a 4xx from the service carries the lecture's envelope (or the error body the operation documents)."""
    assert answer.status < 500, f"{what}: {answer.status} {answer.body[:300]!r}"
    if answer.status >= 400 and ANSWERED_BY_SERVER not in answer.body:
        body = answer.json()
        documented = ((operation or {}).get("responses", {}).get(str(answer.status), {}).get("content", {})
                      .get("application/json", {}).get("schema", {}).get("$ref", ""))
        if documented and not documented.endswith("/ErrorEnvelope"):
            return  # an error shape of its own, documented (OAuth's RFC 6749 errors)
        assert set(body) == {"error"} and body["error"]["code"], f"{what}: not the envelope: {body}"


@contextmanager
def known_defects(service: str, method: str, path: str) -> Iterator[None]:
    try:
        yield
    except AssertionError:
        xfail_if_known(service, method, path)
        raise


def params(operation: dict[str, Any], where: str) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == where]


@pytest.mark.parametrize(("service", "path", "method", "operation"), OPERATIONS, ids=IDS)
def test_hostile_path_query_and_headers(contract_lab, service, path, method, operation):
    with known_defects(service, method, path):
        url, auth = contract_lab[service], credentials(service)
        verb = method.upper()
        for label, value in HOSTILE_TEXT.items():
            for name in params(operation, "path"):
                answer = send(url, verb, fill(path, value, name), auth)
                assert_refused_cleanly(answer, f"path {name}={label}", operation)
            for name in params(operation, "query") + ["unknown_param"]:
                target = fill(path) + b"?" + name.encode() + b"=" + quote(value, safe="").encode()
                assert_refused_cleanly(send(url, verb, target, auth), f"query {name}={label}", operation)
        for label, value in HEADER_TEXT.items():
            # Credentials alone (a refused one answers 401 before any other header is read), then the rest at once.
            for name in CREDENTIAL_HEADERS:
                answer = send(url, verb, fill(path), [(name, value)])
                assert_refused_cleanly(answer, f"header {name}={label}", operation)
            others = [n for n in params(operation, "header") + COMMON_HEADERS if n.lower() not in CREDENTIAL_NAMES]
            answer = send(url, verb, fill(path), auth + [(name, value) for name in others])
            assert_refused_cleanly(answer, f"headers {', '.join(others)} = {label}", operation)
        for accept in ACCEPT_VERSIONS:
            answer = send(url, verb, fill(path), auth + [("Accept", accept)])
            assert_refused_cleanly(answer, f"Accept {accept[:40]!r}", operation)


BODY_OPERATIONS = [(s, p, m, o) for s, p, m, o in OPERATIONS if "requestBody" in o]


@pytest.mark.parametrize(("service", "path", "method", "operation"), BODY_OPERATIONS,
                         ids=[f"{s}:{m.upper()} {p}" for s, p, m, _ in BODY_OPERATIONS])
def test_hostile_json_bodies(contract_lab, service, path, method, operation):
    with known_defects(service, method, path):
        url, auth = contract_lab[service], credentials(service)
        for label, body in HOSTILE_BODIES.items():
            answer = send(url, method.upper(), fill(path), auth + [("Content-Type", "application/json")], body)
            assert_refused_cleanly(answer, f"body {label}", operation)
        # What was stored must still be readable: every list of the service answers without a 5xx.
        for other_path, other_method, other in [(p, m, o) for s, p, m, o in OPERATIONS if s == service]:
            if other_method == "get" and "{" not in other_path:
                assert_refused_cleanly(send(url, "GET", other_path.encode(), auth), f"GET {other_path} after")


@pytest.mark.parametrize(("service", "path", "method", "operation"), BODY_OPERATIONS,
                         ids=[f"{s}:{m.upper()} {p}" for s, p, m, _ in BODY_OPERATIONS])
def test_chunked_body_over_the_limit_is_413(contract_lab, service, path, method, operation):
    url, auth = contract_lab[service], credentials(service)
    piece = b"[" + b"1," * 32_767 + b"1]"  # 64 KiB of valid JSON per chunk, 2 MiB in all
    answer = send(url, method.upper(), fill(path), auth + [("Content-Type", "application/json")],
                  chunks=[piece] * 32)
    assert answer.status == 413, f"{answer.status} {answer.body[:300]!r}"
    assert answer.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_every_secured_service_has_credentials():
    """A service that documents security schemes must say here how the tests authenticate."""
    for service, doc in openapi_documents().items():
        schemes = doc.get("components", {}).get("securitySchemes", {})
        if schemes:
            assert set(CREDENTIALS.get(service, {})) & set(schemes), (
                f"{service} documents the security schemes {sorted(schemes)}; add its sandbox credentials for one "
                "of them to CREDENTIALS in tests/contract/services.py so its operations are tested past 401.")


def test_hostile_documents_are_json():
    """The bodies above are what they claim to be (a broken generator would test nothing)."""
    assert json.loads(HOSTILE_BODIES["deep-array-900"]) is not None
    with pytest.raises(RecursionError):
        json.loads(HOSTILE_BODIES["deep-array-100k"])


# --- JSON Web Tokens: a correctly signed token whose claims have the wrong types -------------

WRONG_CLAIM_VALUES: dict[str, bytes] = {
    "number": b"5", "huge-number": b"1" + b"0" * 5000, "infinity": b"1e999", "true": b"true", "null": b"null",
    "list": b'["admin", 1, null]', "object": b'{"admin": 1}', "string": b'"admin"', "empty-string": b'""',
    "deep": b"[" * 2000 + b"]" * 2000,
}


def signed_token(secret: str, payload: bytes) -> str:
    """A JWT (HS256) over ``payload`` exactly as given: no JSON library stands between the test and the bytes."""
    import base64
    import hashlib
    import hmac

    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(payload)
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + b64(signature)).decode()


def claims_with(good: dict[str, Any], claim: str, raw: bytes) -> bytes:
    import time

    now = int(time.time())
    claims = {**good, "iat": now, "exp": now + 600, "nbf": now - 5}
    fields = [json.dumps(k).encode() + b":" + (raw if k == claim else json.dumps(v).encode())
              for k, v in claims.items()]
    return b"{" + b",".join(fields) + b"}"


SIGNED_OPERATIONS = [(s, p, m, o) for s, p, m, o in OPERATIONS if s in JWT_SIGNERS and o.get("security")]


@pytest.mark.parametrize(("service", "path", "method", "operation"), SIGNED_OPERATIONS,
                         ids=[f"{s}:{m.upper()} {p}" for s, p, m, _ in SIGNED_OPERATIONS])
def test_wrong_types_in_every_jwt_claim(contract_lab, service, path, method, operation):
    signer = JWT_SIGNERS[service]()
    good = signer["claims"]
    for claim in [*good, "iat", "exp", "nbf"]:
        for label, raw in WRONG_CLAIM_VALUES.items():
            token = signed_token(signer["secret"], claims_with(good, claim, raw))
            answer = send(contract_lab[service], method.upper(), fill(path), [("Authorization", f"Bearer {token}")])
            assert_refused_cleanly(answer, f"claim {claim}={label}", operation)
