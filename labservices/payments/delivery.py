"""The delivery worker: an asyncio task that sends due webhooks from the outbox and retries failures.

At-least-once delivery, as Stripe and the Standard Webhooks specification describe it:

* the worker claims due rows from ``deliveries`` (written by the API in the same
  transaction as the event), POSTs each event's exact bytes, freshly signed, and records
  the attempt: status code, response time, the first KiB of the answer;
* success is a 2xx within the timeout; anything else (an error status, a redirect, a
  refused connection, no answer in time) schedules the next attempt after 1 min, 5 min,
  15 min, then 1 h (times the time scale); after the last attempt the delivery is
  ``failed`` until someone redelivers it by hand;
* the event id (``webhook-id``) never changes across attempts, the timestamp does;
* nothing is held only in memory: after a restart every claimed row is due again and
  the schedule goes on from the times stored on disk.

The API rings :meth:`Worker.wake` after it writes deliveries, so a healthy receiver
gets an event within milliseconds; otherwise the worker sleeps until the next due time.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field

import httpx
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram

from labservices.common import tracing
from labservices.common.client import ServiceClient, TargetRefused

from labservices.common import signing
from .store import Due, Store

log = logging.getLogger("labservices.payments.delivery")

USER_AGENT = "IntegrationLab-Payments/1.0 (webhooks; +https://www.standardwebhooks.com/)"
KEEP_BYTES = 1024


@dataclass
class DeliveryConfig:
    """What the worker runs by now: the settings' values, changed at run time by PUT /admin/delivery."""

    time_scale: float
    timeout_s: float
    schedule_s: list[float]
    max_attempts: int
    defaults: tuple[float, float] = field(default=(1.0, 5.0))

    def scaled_schedule(self) -> list[float]:
        return [round(s * self.time_scale, 6) for s in self.schedule_s]

    def restore(self) -> None:
        self.time_scale, self.timeout_s = self.defaults


@dataclass
class Sent:
    status_code: int | None
    duration_ms: float
    body: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def delivery_headers(due_source: str, event_type: str, event_id: str, guid: str, endpoint_id: str,
                     secrets_: list[str], body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Every header of one attempt: content type, the three signature schemes, GitHub's own for its events."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **signing.signature_headers(secrets_, event_id, ts, body)}
    if due_source == "github":
        headers.update({"X-GitHub-Event": event_type, "X-GitHub-Delivery": guid, "X-GitHub-Hook-ID": endpoint_id,
                        "X-Hub-Signature-256": signing.lecture_signature(secrets_[0], body)})
    return headers


async def post(client: ServiceClient, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Sent:
    """One POST that must answer within ``timeout`` seconds in all; never raises."""
    started = time.perf_counter()

    async def send() -> tuple[int, bytes]:
        async with client.stream("POST", url, content=body, headers=headers, timeout=timeout) as resp:
            kept = b""
            async for chunk in resp.aiter_bytes():
                kept += chunk
                if len(kept) >= KEEP_BYTES:
                    break
            return resp.status_code, kept[:KEEP_BYTES]

    try:
        status, kept = await asyncio.wait_for(send(), timeout)
    except (asyncio.TimeoutError, httpx.TimeoutException):
        return Sent(None, (time.perf_counter() - started) * 1000, "", f"timeout: no answer within {timeout:g} s")
    except (httpx.HTTPError, TargetRefused) as exc:
        return Sent(None, (time.perf_counter() - started) * 1000, "", f"{type(exc).__name__}: {exc}"[:300])
    return Sent(status, (time.perf_counter() - started) * 1000, kept.decode("utf-8", "replace"), None)


class Worker:
    """Sends due deliveries; start with :meth:`run` as a task in the app's lifespan."""

    def __init__(self, store: Store, config: DeliveryConfig, client: ServiceClient, *, max_in_flight: int,
                 poll_interval_s: float, registry=None, delays=None) -> None:
        self.store = store
        self.config = config
        self.client = client
        self.max_in_flight = max_in_flight
        self.poll_interval_s = poll_interval_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bell: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()
        self._lock = threading.Lock()
        self.attempts = Counter("webhook_attempts_total", "Webhook delivery attempts, by outcome",
                                ["outcome"], registry=registry)
        self.durations = Histogram("webhook_attempt_duration_seconds", "Time a receiver took to answer",
                                   buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                   registry=registry)
        self.delays = delays  # how long a due delivery waited for the worker (lab_processing_delay_seconds)

    def wake(self) -> None:
        """Tell the worker new deliveries are due (safe from any thread)."""
        with self._lock:
            loop, bell = self._loop, self._bell
        if loop is not None and bell is not None and not loop.is_closed():
            loop.call_soon_threadsafe(bell.set)

    async def run(self) -> None:
        with self._lock:
            self._loop, self._bell = asyncio.get_running_loop(), asyncio.Event()
        # The store is SQLite behind a lock: its calls go to a thread, never onto the shared loop.
        unlocked = await asyncio.to_thread(self.store.unlock_all)
        if unlocked:
            log.info("resuming deliveries interrupted by a stop", extra={"deliveries": unlocked})
        try:
            while True:
                self._bell.clear()
                free = self.max_in_flight - len(self._tasks)
                for due in await asyncio.to_thread(self.store.claim_due, time.time(), free):
                    task = asyncio.create_task(self._attempt(due))
                    self._tasks.add(task)
                    task.add_done_callback(self._done)
                await self._sleep()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with self._lock:
                self._loop = self._bell = None

    async def _sleep(self) -> None:
        wait = self.poll_interval_s
        if len(self._tasks) < self.max_in_flight:
            next_due = await asyncio.to_thread(self.store.next_due)
            if next_due is not None:
                wait = min(wait, max(0.0, next_due - time.time()))
        if wait > 0:
            try:
                await asyncio.wait_for(self._bell.wait(), wait)
            except asyncio.TimeoutError:
                pass

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if self._bell is not None:
            self._bell.set()  # capacity is free again

    async def _attempt(self, due: Due) -> None:
        body = due.body.encode("utf-8")
        headers = delivery_headers(due.source, due.event_type, due.event_id, due.guid, due.endpoint_id,
                                   due.secrets, body)
        started = time.time()
        if self.delays is not None:
            self.delays.observe(max(0.0, started - due.scheduled_at))
        # Continue the trace the event was made in: the receiver's work joins the request that caused it.
        parent = propagate.extract({"traceparent": due.traceparent} if due.traceparent else {})
        with tracing.tracer("payments").start_as_current_span(f"deliver {due.event_type}", context=parent,
                                                              kind=SpanKind.PRODUCER,
                                                              attributes={"lab.delivery.id": due.id,
                                                                          "lab.attempt": due.attempts_made + 1}):
            sent = await post(self.client, due.url, body, headers, self.config.timeout_s)
        outcome = "succeeded" if sent.ok else "failed"
        self.attempts.labels(outcome=outcome).inc()
        self.durations.observe(sent.duration_ms / 1000)
        status = await asyncio.to_thread(
            self.store.record_attempt, due, started, sent.duration_ms, sent.status_code, sent.error, sent.body,
            sent.ok, self.config.scaled_schedule(), self.config.max_attempts)
        log.info("webhook attempt %s", outcome, extra={
            "delivery_id": due.id, "event_id": due.event_id, "url": due.url, "status_code": sent.status_code,
            "duration_ms": round(sent.duration_ms, 1), "error": sent.error, "delivery_status": status})


def attack_request(kind: str, event: dict, endpoint_id: str, secrets_: list[str], age_s: int,
                   source: str, guid: str) -> tuple[bytes, dict[str, str]]:
    """The bytes and headers an attacker would send, built from a real event (see AttackCreate)."""
    body = json.dumps(event["payload"], ensure_ascii=False, indent=2).encode()
    now = int(time.time())
    build = lambda secrets, ts, raw: delivery_headers(source, event["type"], event["id"], guid,  # noqa: E731
                                                      endpoint_id, secrets, raw, ts)
    if kind == "forged_signature":
        return body, build([signing.new_secret()], now, body)
    if kind == "tampered_body":
        payload = json.loads(body)
        obj = payload.get("data", {}).get("object", {}) if isinstance(payload.get("data"), dict) else {}
        if isinstance(obj.get("amount"), int):
            obj["amount"] *= 100
        else:
            payload["tampered"] = True
        return json.dumps(payload, ensure_ascii=False, indent=2).encode(), build(secrets_, now, body)
    if kind == "stale_replay":
        return body, build(secrets_, now - age_s, body)
    if kind == "retimestamped_replay":
        headers = build(secrets_, now - age_s, body)
        headers["webhook-timestamp"] = str(now)  # the attacker freshens the time, cannot re-sign it
        return body, headers
    headers = build(secrets_, now, body)
    for name in ("webhook-signature", "X-Webhook-Signature", "X-Hub-Signature-256"):
        headers.pop(name, None)
    return body, headers
