"""Circuit breakers (pybreaker) and retries (tenacity) for calls between services, observable.

A service guards each dependency with one :class:`Breaker`::

    breaker = Breaker("catalog", app.state.metrics, fail_max=5, reset_timeout=10)
    async with breaker.guard():          # raises BreakerOpen at once while the circuit is open
        resp = await client.get(...)     # an exception here counts as a failure

pybreaker keeps the state machine (closed → open after ``fail_max`` failures in a row → half-open
once ``reset_timeout`` has passed → closed after a successful trial call, open again after a
failed one). Two things are added for a service on an asyncio loop: in half-open only **one**
trial call goes through at a time (the others are rejected, as in Resilience4j, instead of a
stampede onto a service that is just recovering), and every transition and outcome is exported:
``circuit_breaker_state{breaker}`` (0 closed, 1 open, 2 half-open),
``circuit_breaker_calls_total{breaker,outcome}`` (success, failure, rejected) and
``circuit_breaker_transitions_total{breaker,to}`` in ``/metrics``, and :meth:`Breaker.snapshot`
(state, counters, recent transitions) for ``/admin/breakers`` and the notebook's widget.

:func:`retrying` is the one retry policy: tenacity with exponential backoff and full jitter and,
always, a stop condition (attempts and a deadline); it retries only what may pass on a second
try (no answer, 502/503/504, 429) and never a rejection by an open breaker.
"""
from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import Any, AsyncIterator, Literal

import httpx
import pybreaker
from fastapi import APIRouter, Request
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random_exponential

from .clock import iso
from .errors import ApiError, error_responses
from .metrics import Metrics

STATES = {"closed": 0, "open": 1, "half-open": 2}
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class BreakerOpen(Exception):
    """The circuit is open (or a half-open trial is already under way): the call was not made."""

    def __init__(self, breaker: "Breaker") -> None:
        self.breaker = breaker
        self.retry_after = max(1, round(breaker.remaining_open_s()))
        super().__init__(f"circuit {breaker.name} is {breaker.state}")


class UpstreamError(Exception):
    """A dependency answered with a status that counts as its failure (5xx, 429)."""

    def __init__(self, target: str, response: httpx.Response) -> None:
        self.target, self.response, self.status = target, response, response.status_code
        super().__init__(f"{target} answered {response.status_code}")


def _state_name(state: Any) -> str:
    name = getattr(state, "name", state)
    return "half-open" if name == "half-open" or name == pybreaker.STATE_HALF_OPEN else str(name)


class _Listener(pybreaker.CircuitBreakerListener):
    def __init__(self, owner: "Breaker") -> None:
        self.owner = owner

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        self.owner._changed(_state_name(old_state) if old_state else "closed", _state_name(new_state))


class Breaker:
    """One circuit breaker around one dependency, with metrics and a short history."""

    def __init__(self, name: str, metrics: Metrics | None = None, *, fail_max: int = 5,
                 reset_timeout: float = 60, enabled: bool = True) -> None:
        self.name = name
        self.enabled = enabled
        self._cb = pybreaker.CircuitBreaker(fail_max=fail_max, reset_timeout=reset_timeout, name=name,
                                            listeners=[_Listener(self)], throw_new_error_on_trip=False)
        self._trial_running = False
        self.history: deque[dict[str, Any]] = deque(maxlen=50)
        self.counts = {"success": 0, "failure": 0, "rejected": 0}
        self._gauge = self._calls = self._transitions = None
        if metrics is not None:
            self._gauge = _metric(metrics, Gauge, "circuit_breaker_state",
                                  "Circuit breaker state: 0 closed, 1 open, 2 half-open", ["breaker"])
            self._calls = _metric(metrics, Counter, "circuit_breaker_calls_total",
                                  "Calls through a circuit breaker by outcome (rejected: not made, circuit open)",
                                  ["breaker", "outcome"])
            self._transitions = _metric(metrics, Counter, "circuit_breaker_transitions_total",
                                        "Circuit breaker state changes", ["breaker", "to"])
            self._gauge.labels(name).set(0)
            for outcome in self.counts:
                self._calls.labels(name, outcome)

    # --- state ------------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """closed, open or half-open (an open circuit whose timeout has passed reads half-open)."""
        current = _state_name(self._cb.current_state)
        if current == "open" and self.remaining_open_s() == 0:
            return "half-open"
        return current

    @property
    def fail_max(self) -> int:
        return self._cb.fail_max

    @property
    def reset_timeout(self) -> float:
        return self._cb.reset_timeout

    def remaining_open_s(self) -> float:
        opened = self._cb._state_storage.opened_at
        if _state_name(self._cb.current_state) != "open" or opened is None:
            return 0.0
        return max(0.0, opened.timestamp() + self._cb.reset_timeout - time.time())

    def configure(self, *, fail_max: int | None = None, reset_timeout: float | None = None,
                  enabled: bool | None = None) -> None:
        if fail_max is not None:
            self._cb.fail_max = fail_max
        if reset_timeout is not None:
            self._cb.reset_timeout = reset_timeout
        if enabled is not None:
            self.enabled = enabled

    def reset(self) -> None:
        """Closed, counters at zero, history kept (what the notebook's reset button does)."""
        self._cb.close()
        self._trial_running = False

    def _changed(self, old: str, new: str) -> None:
        self.history.append({"at": iso(time.time(), ms=True), "from": old, "to": new})
        if self._gauge is not None:
            self._gauge.labels(self.name).set(STATES.get(new, 0))
            self._transitions.labels(self.name, new).inc()

    def _count(self, outcome: str) -> None:
        self.counts[outcome] += 1
        if self._calls is not None:
            self._calls.labels(self.name, outcome).inc()

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "enabled": self.enabled, "state": self.state if self.enabled else "disabled",
                "fail_max": self.fail_max, "reset_timeout_s": self.reset_timeout,
                "failures_in_a_row": self._cb.fail_counter, "open_for_s": round(self.remaining_open_s(), 2),
                "calls": dict(self.counts), "transitions": list(self.history)}

    # --- calls ------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the block as one call through the breaker; ``BreakerOpen`` if it may not run now."""
        if not self.enabled:
            yield
            return
        trial = self.state == "half-open"
        if trial and self._trial_running:
            self._count("rejected")
            raise BreakerOpen(self)
        try:
            with self._cb.calling():
                if trial:
                    self._trial_running = True
                try:
                    yield
                finally:
                    if trial:
                        self._trial_running = False
        except pybreaker.CircuitBreakerError:
            self._count("rejected")
            raise BreakerOpen(self) from None
        except BaseException:
            self._count("failure")
            raise
        self._count("success")


def _metric(metrics: Metrics, kind: type, name: str, doc: str, labels: list[str]):
    """One collector per registry: two breakers in a service share the metric families."""
    existing = metrics.registry._names_to_collectors.get(name) or metrics.registry._names_to_collectors.get(
        name.removesuffix("_total"))
    return existing if existing is not None else kind(name, doc, labels, registry=metrics.registry)


def transient(exc: BaseException) -> bool:
    """May a second try succeed? No answer or 429/502/503/504: yes. A 4xx or an open breaker: no."""
    if isinstance(exc, BreakerOpen):
        return False
    if isinstance(exc, UpstreamError):
        return exc.status in RETRYABLE_STATUS
    return isinstance(exc, httpx.TransportError) or getattr(exc, "transient", False)


def retrying(attempts: int = 3, deadline_s: float = 5.0, initial_s: float = 0.1, max_wait_s: float = 1.0,
             **kwargs: Any) -> AsyncRetrying:
    """tenacity's ``AsyncRetrying``: exponential backoff with jitter, stopped by attempts or a deadline::

        async for attempt in retrying():
            with attempt:
                resp = await call()
    """
    return AsyncRetrying(stop=stop_after_attempt(attempts) | stop_after_delay(deadline_s),
                         wait=wait_random_exponential(multiplier=initial_s, max=max_wait_s),
                         retry=retry_if_exception(transient), reraise=True, **kwargs)


def raise_for_upstream(target: str, resp: httpx.Response) -> httpx.Response:
    """Turn a 5xx or 429 from a dependency into ``UpstreamError`` (a failure for breakers and retries)."""
    if resp.status_code >= 500 or resp.status_code == 429:
        raise UpstreamError(target, resp)
    return resp


# --- /admin/breakers: what a service's breakers are doing, and the knobs a notebook turns ------------------

class BreakerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"fail_max": 5, "reset_timeout_s": 10}]})

    enabled: bool | None = Field(None, description="false: calls go straight through (to show life without one)")
    fail_max: int | None = Field(None, ge=1, le=100, description="Failures in a row that open the circuit")
    reset_timeout_s: float | None = Field(None, gt=0, le=600, description="How long it stays open before a trial")


class BreakerPublic(BaseModel):
    name: str
    enabled: bool
    state: Literal["closed", "open", "half-open", "disabled"]
    fail_max: int
    reset_timeout_s: float
    failures_in_a_row: int
    open_for_s: float = Field(description="Seconds until a trial call is let through (0 unless open)")
    calls: dict[str, int] = Field(description="success, failure, rejected (not made: the circuit was open)")
    transitions: list[dict[str, str]]


def breakers_router() -> APIRouter:
    """``GET /admin/breakers``, ``PUT /admin/breakers/{name}``, ``POST /admin/breakers/{name}/reset``."""
    router = APIRouter(prefix="/admin/breakers", tags=["Resilience"])

    def found(request: Request, name: str) -> Breaker:
        breakers: dict[str, Breaker] = request.app.state.breakers
        if name not in breakers:
            raise ApiError(404, "NOT_FOUND", f"Запобіжника {name} немає; є: {', '.join(breakers) or 'жодного'}")
        return breakers[name]

    @router.get("", response_model=list[BreakerPublic])
    async def list_breakers(request: Request) -> list[dict]:
        """Every circuit breaker of this service: state, counters, recent transitions."""
        return [b.snapshot() for b in request.app.state.breakers.values()]

    @router.put("/{name}", response_model=BreakerPublic, responses=error_responses(400, 404))
    async def configure(name: str, body: BreakerUpdate, request: Request) -> dict:
        """Change a breaker's threshold or timeout, or switch it off and on."""
        breaker = found(request, name)
        breaker.configure(fail_max=body.fail_max, reset_timeout=body.reset_timeout_s, enabled=body.enabled)
        return breaker.snapshot()

    @router.post("/{name}/reset", response_model=BreakerPublic, responses=error_responses(404))
    async def reset(name: str, request: Request) -> dict:
        """Close the circuit now (as after a successful trial call)."""
        breaker = found(request, name)
        breaker.reset()
        return breaker.snapshot()

    return router
