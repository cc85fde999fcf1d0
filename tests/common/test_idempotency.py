"""Idempotency keys, as the shop and payments share them: replay, mismatch, scope, expiry."""
from __future__ import annotations

import sqlite3
import time

import pytest

from labservices.common.errors import ApiError
from labservices.common.idempotency import SCHEMA, Idempotency, remember, replay


@pytest.fixture
def conn():
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    yield db
    db.close()


def test_no_key_means_no_idempotency():
    assert Idempotency.of(None, request={"a": 1}) is None


def test_a_new_key_replays_nothing_then_the_stored_answer(conn):
    idem = Idempotency.of("k-1", scope="key:app", request={"amount": 100})
    assert replay(conn, idem) is None
    remember(conn, idem, 201, {"id": "pi_1"}, "/api/payment_intents/pi_1")
    saved = replay(conn, Idempotency.of("k-1", scope="key:app", request={"amount": 100}))
    assert (saved.status, saved.body, saved.location) == (201, {"id": "pi_1"}, "/api/payment_intents/pi_1")
    assert saved.headers() == {"Idempotent-Replayed": "true", "Location": "/api/payment_intents/pi_1"}


def test_the_same_key_with_another_request_is_422(conn):
    remember(conn, Idempotency.of("k-2", request={"amount": 100}), 201, {"id": 1})
    with pytest.raises(ApiError) as refused:
        replay(conn, Idempotency.of("k-2", request={"amount": 999}))
    assert (refused.value.status, refused.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_keys_belong_to_their_caller(conn):
    remember(conn, Idempotency.of("shared", scope="key:a", request={}), 201, {"id": 1})
    assert replay(conn, Idempotency.of("shared", scope="key:b", request={})) is None


def test_keys_are_forgotten_after_their_ttl(conn):
    idem = Idempotency.of("old", request={}, ttl_s=60)
    remember(conn, idem, 201, {"id": 1})
    conn.execute("UPDATE idempotency_records SET created_at = ?", (time.time() - 61,))
    assert replay(conn, idem) is None
