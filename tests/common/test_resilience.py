"""labservices.common.resilience: pybreaker's state machine as a service on an event loop uses it."""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from labservices.common.metrics import Metrics
from labservices.common.resilience import Breaker, BreakerOpen, UpstreamError, raise_for_upstream, retrying, transient


class Boom(Exception):
    pass


async def _fail(breaker: Breaker) -> None:
    with pytest.raises(Boom):
        async with breaker.guard():
            raise Boom()


async def _ok(breaker: Breaker) -> None:
    async with breaker.guard():
        pass


def test_closed_open_half_open_closed():
    async def go():
        metrics = Metrics("t")
        breaker = Breaker("dep", metrics, fail_max=3, reset_timeout=0.2)
        for _ in range(3):
            await _fail(breaker)
        assert breaker.state == "open"
        with pytest.raises(BreakerOpen) as caught:
            await _ok(breaker)
        assert caught.value.retry_after == 1
        await asyncio.sleep(0.25)
        assert breaker.state == "half-open"
        await _ok(breaker)
        assert breaker.state == "closed"
        assert [t["to"] for t in breaker.history] == ["open", "half-open", "closed"]
        assert breaker.counts == {"success": 1, "failure": 3, "rejected": 1}
        text = metrics.render().decode()
        assert 'circuit_breaker_state{breaker="dep"} 0.0' in text
        assert 'circuit_breaker_calls_total{breaker="dep",outcome="rejected"} 1.0' in text
        assert 'circuit_breaker_transitions_total{breaker="dep",to="open"} 1.0' in text
    asyncio.run(go())


def test_a_failed_trial_opens_it_again():
    async def go():
        breaker = Breaker("dep", fail_max=1, reset_timeout=0.1)
        await _fail(breaker)
        await asyncio.sleep(0.15)
        await _fail(breaker)
        assert breaker.state == "open" and breaker.remaining_open_s() > 0.05
    asyncio.run(go())


def test_half_open_lets_one_trial_through_at_a_time():
    async def go():
        breaker = Breaker("dep", fail_max=1, reset_timeout=0.1)
        await _fail(breaker)
        await asyncio.sleep(0.15)
        entered = []

        async def slow_trial():
            async with breaker.guard():
                entered.append("trial")
                await asyncio.sleep(0.1)
        trial = asyncio.create_task(slow_trial())
        await asyncio.sleep(0.02)
        with pytest.raises(BreakerOpen):  # a second caller meanwhile is turned away, not let through
            await _ok(breaker)
        await trial
        assert entered == ["trial"] and breaker.state == "closed"
    asyncio.run(go())


def test_a_disabled_breaker_lets_everything_through():
    async def go():
        breaker = Breaker("dep", fail_max=1, reset_timeout=60)
        breaker.configure(enabled=False)
        for _ in range(3):
            await _fail(breaker)
        await _ok(breaker)
        assert breaker.snapshot()["state"] == "disabled" and breaker.counts["failure"] == 0
    asyncio.run(go())


def test_successes_reset_the_count_of_failures_in_a_row():
    async def go():
        breaker = Breaker("dep", fail_max=3, reset_timeout=60)
        for _ in range(5):
            await _fail(breaker)
            await _fail(breaker)
            await _ok(breaker)
        assert breaker.state == "closed"
    asyncio.run(go())


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://x"))


def test_what_is_worth_a_second_try():
    assert transient(httpx.ConnectError("refused")) and transient(httpx.ReadTimeout("slow"))
    assert transient(UpstreamError("x", _response(503))) and transient(UpstreamError("x", _response(429)))
    assert not transient(UpstreamError("x", _response(500)))  # a bug in the server: a second try meets it again
    assert not transient(ValueError("a bug"))
    assert not transient(BreakerOpen(Breaker("dep")))
    assert raise_for_upstream("x", _response(409)).status_code == 409
    with pytest.raises(UpstreamError):
        raise_for_upstream("x", _response(502))


def test_retrying_stops_after_its_attempts_with_growing_pauses():
    async def go():
        calls = []
        with pytest.raises(httpx.ConnectError):
            async for attempt in retrying(attempts=4, deadline_s=10, initial_s=0.02, max_wait_s=0.2):
                with attempt:
                    calls.append(time.monotonic())
                    raise httpx.ConnectError("refused")
        pauses = [b - a for a, b in zip(calls, calls[1:])]
        assert len(calls) == 4 and all(p < 0.3 for p in pauses)  # full jitter: 0..min(0.2, 0.02·2ⁿ)
    asyncio.run(go())


def test_retrying_does_not_repeat_a_clients_mistake():
    async def go():
        calls = 0
        with pytest.raises(ValueError):
            async for attempt in retrying(attempts=5, initial_s=0.01):
                with attempt:
                    calls += 1
                    raise ValueError("400: your fault")
        return calls
    assert asyncio.run(go()) == 1
