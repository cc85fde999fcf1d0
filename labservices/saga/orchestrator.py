"""The orchestrator: one saga, "place an order", as a list of steps each with its compensation.

    create_order    (local)          ↩ reject_order
    reserve_stock   catalog          ↩ release_stock
    charge_payment  payments         ↩ refund_payment
    create_shipment shipping         (the pivot: once the parcel exists, the saga only goes forward)
    approve_order   catalog + local  (after the pivot: retried until it succeeds, never compensated)

As Temporal's saga sample and FTGO's ``CreateOrderSaga`` do it: each step that succeeds adds its
compensation; when a step fails for a business reason (a card declined, no stock, a carrier that
does not deliver there) the compensations of the steps done run in reverse. A transient failure
(no answer, 5xx) is retried with backoff first (tenacity); when the retries run out, the step
counts as failed and the saga compensates. Compensations are retried until they succeed.

Every action is idempotent, keyed by the saga id: reserving twice holds the stock once (the key
``{saga}:{product}``), charging twice charges once (``Idempotency-Key: {saga}:charge``), shipping
twice makes one parcel (the order id). That is what makes it safe to do a step again after a
crash: the orchestrator persists "started" before and "done" after each step, and on start-up
resumes every saga its log says is unfinished.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpx
from prometheus_client import Counter, Histogram
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from labservices.common.client import ServiceClient
from labservices.common.discovery import NoInstance, Resolver
from labservices.common.metrics import BUCKETS, Metrics
from labservices.common.resilience import UpstreamError, raise_for_upstream, transient

from .store import Store

log = logging.getLogger("labservices.saga")


class BusinessFailure(Exception):
    """The step was refused for a reason retrying will not change: compensate."""


@dataclass(frozen=True)
class Step:
    name: str
    action: Callable[["Saga"], Awaitable[dict]]
    compensation: Callable[["Saga", dict], Awaitable[str]] | None = None
    retriable: bool = False  # after the pivot: retried until it succeeds, never compensated


@dataclass
class Saga:
    """What a step sees: the saga's id and request, and the results of the steps before it."""

    saga_id: str
    request: dict
    results: dict[str, dict]
    total: int | None


class Orchestrator:
    def __init__(self, store: Store, client: ServiceClient, metrics: Metrics, *, attempts: int = 4,
                 backoff_s: float = 0.5, call_timeout_s: float = 5.0) -> None:
        self.store, self.client = store, client
        self.resolver = Resolver(client)
        self.attempts, self.backoff_s, self.call_timeout_s = attempts, backoff_s, call_timeout_s
        self.tasks: dict[str, asyncio.Task] = {}
        self.finished: dict[str, asyncio.Event] = {}
        self.alive = False
        self.steps = [
            Step("create_order", self.create_order, self.reject_order),
            Step("reserve_stock", self.reserve_stock, self.release_stock),
            Step("charge_payment", self.charge_payment, self.refund_payment),
            Step("create_shipment", self.create_shipment),  # the pivot: its success decides the saga
            Step("approve_order", self.approve_order, retriable=True),
        ]
        self.outcomes = Counter("sagas_finished_total", "Sagas finished, by outcome", ["outcome"],
                                registry=metrics.registry)
        self.step_seconds = Histogram("saga_step_duration_seconds", "Time a saga step took, retries included",
                                      ["step", "outcome"], buckets=BUCKETS, registry=metrics.registry)
        self.compensations = Counter("saga_compensations_total", "Compensations run, by step", ["step"],
                                     registry=metrics.registry)

    # --- running sagas ------------------------------------------------------------------------------

    async def work(self, app: Any = None) -> None:
        """Worker: resume every saga the log says is unfinished, then run new ones as they come."""
        self.alive = True
        try:
            for saga_id in await asyncio.to_thread(self.store.unfinished):
                self.start(saga_id, resumed=True)
            await asyncio.Event().wait()
        finally:
            self.alive = False
            tasks = list(self.tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def start(self, saga_id: str, resumed: bool = False) -> None:
        if not self.alive or saga_id in self.tasks:
            return  # not running now: the worker resumes it from the log when it starts
        self.finished.setdefault(saga_id, asyncio.Event())
        task = asyncio.create_task(self.run(saga_id, resumed), name=f"saga:{saga_id}")
        self.tasks[saga_id] = task
        task.add_done_callback(lambda _t, s=saga_id: self._done(s))

    def _done(self, saga_id: str) -> None:
        self.tasks.pop(saga_id, None)
        event = self.finished.pop(saga_id, None)
        if event is not None:
            event.set()

    async def wait(self, saga_id: str, timeout_s: float) -> None:
        event = self.finished.get(saga_id)
        if event is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout_s)

    async def run(self, saga_id: str, resumed: bool = False) -> None:
        try:
            await self._run(saga_id, resumed)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug, not a failure of a step: the saga stays unfinished and resumes on restart
            log.exception("saga %s stopped", saga_id)

    async def _run(self, saga_id: str, resumed: bool) -> None:
        saga = await asyncio.to_thread(self.store.get, saga_id)
        if resumed:
            await self._record(saga_id, event=("resumed", f"the orchestrator started again; status {saga['status']}"))
        ctx = Saga(saga_id, saga["request"], {s["name"]: s["result"] for s in saga["steps"] if s["result"]},
                   saga["total"])
        if saga["status"] == "running":
            failed = await self._forward(ctx, saga["steps"])
            if failed is None:
                await self._record(saga_id, event=("saga_completed", "every step succeeded"),
                                   saga={"status": "completed", "order_status": "approved",
                                         "finished_at": time.time()})
                self.outcomes.labels("completed").inc()
                return
            saga = await asyncio.to_thread(self.store.get, saga_id)
        await self._compensate(ctx, saga["steps"])
        await self._record(saga_id, event=("saga_compensated", "every step done was compensated, in reverse"),
                           saga={"status": "compensated", "order_status": "rejected", "finished_at": time.time()})
        self.outcomes.labels("compensated").inc()

    async def _forward(self, ctx: Saga, states: list[dict]) -> str | None:
        """Run the steps not done yet; the name of the step that failed, or None."""
        for n, step in enumerate(self.steps):
            if states[n]["status"] == "done":
                continue
            started = time.perf_counter()
            await self._record(ctx.saga_id, step=(n, step.name), event=("step_started", None), status="running",
                               started_at=time.time())
            try:
                result = await self._attempts(ctx, n, step, forever=step.retriable)
            except BusinessFailure as exc:
                return await self._failed(ctx, n, step, str(exc), started)
            except Exception as exc:  # retries ran out on a transient failure
                return await self._failed(ctx, n, step, f"retries exhausted: {_describe(exc)}", started)
            ctx.results[step.name] = result
            await self._record(ctx.saga_id, step=(n, step.name), event=("step_succeeded", _summary(result)),
                               status="done", result=result, finished_at=time.time(), error=None)
            self.step_seconds.labels(step.name, "succeeded").observe(time.perf_counter() - started)
        return None

    async def _failed(self, ctx: Saga, n: int, step: Step, reason: str, started: float) -> str:
        await self._record(ctx.saga_id, step=(n, step.name), event=("step_failed", reason), status="failed",
                           error=reason, finished_at=time.time(),
                           saga={"status": "compensating", "failed_step": step.name, "reason": reason})
        self.step_seconds.labels(step.name, "failed").observe(time.perf_counter() - started)
        return step.name

    async def _compensate(self, ctx: Saga, states: list[dict]) -> None:
        """Undo, in reverse, every step that is done (or was under way: it may have done its part)."""
        for n in reversed(range(len(self.steps))):
            step = self.steps[n]
            if step.compensation is None or states[n]["status"] not in ("done", "failed", "compensating", "running"):
                continue
            failed = states[n]["status"] == "failed"  # it may have done part of its work: undo that too
            await self._record(ctx.saga_id, step=(n, step.name), event=("compensation_started", None),
                               **({} if failed else {"status": "compensating"}))
            detail = await self._attempts(ctx, n, step, forever=True, compensating=True)
            await self._record(ctx.saga_id, step=(n, step.name), event=("compensated", detail),
                               compensated_at=time.time(), **({} if failed else {"status": "compensated"}))
            self.compensations.labels(step.name).inc()

    async def _attempts(self, ctx: Saga, n: int, step: Step, *, forever: bool, compensating: bool = False) -> Any:
        """The step (or its compensation) with retries on transient failures; forever after the pivot."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(10_000 if forever else self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff_s, max=self.backoff_s * 8),
            retry=retry_if_exception(transient), reraise=True)
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if not compensating:
                    await asyncio.to_thread(self.store.update, ctx.saga_id, step=(n, step.name), attempts=number)
                if number > 1:
                    await self._record(ctx.saga_id, step=(n, step.name),
                                       event=("retry", f"attempt {number}" + (" (compensation)" if compensating
                                                                               else "")))
                if compensating:
                    return await step.compensation(ctx, ctx.results.get(step.name) or {})
                return await step.action(ctx)

    async def _record(self, saga_id: str, **kwargs: Any) -> None:
        await asyncio.to_thread(self.store.update, saga_id, **kwargs)

    # --- calls to the other services ------------------------------------------------------------------

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call; transient failures raise (to be retried), a 4xx answer is returned."""
        resp = await self.resolver.request(service, method, path, timeout=self.call_timeout_s, **kwargs)
        return raise_for_upstream(service, resp)

    # --- the steps and their compensations --------------------------------------------------------------

    async def create_order(self, saga: Saga) -> dict:
        """Local: the order exists, APPROVAL_PENDING (it is in the saga's own row)."""
        return {"order_id": saga.saga_id, "order_status": "approval_pending"}

    async def reject_order(self, saga: Saga, result: dict) -> str:
        await self._record(saga.saga_id, saga={"order_status": "rejected"})
        return "order rejected"

    async def reserve_stock(self, saga: Saga) -> dict:
        """Catalog: price each line and hold its stock (all lines, or the saga compensates what was held)."""
        reservations, total = [], 0
        for item in saga.request["items"]:
            product_id, quantity = item["product_id"], item["quantity"]
            resp = await self.call("catalog", "GET", f"/api/products/{product_id}")
            if resp.status_code == 404:
                raise BusinessFailure(f"product {product_id} is not in the catalog")
            total += resp.json()["price"] * quantity
            resp = await self.call("catalog", "POST", f"/api/products/{product_id}/reserve",
                                   json={"quantity": quantity, "order_id": saga.saga_id},
                                   headers={"Idempotency-Key": f"{saga.saga_id}:{product_id}"})
            if resp.status_code >= 400:
                raise BusinessFailure(_error(resp, f"catalog refused to reserve {product_id}"))
            reservations.append(resp.json()["reservation_id"])
        saga.total = total
        await self._record(saga.saga_id, saga={"total": total})
        return {"reservations": reservations, "total": total}

    async def release_stock(self, saga: Saga, result: dict) -> str:
        """Put back everything held for this saga (found by the saga's id: a crash may have left no result)."""
        resp = await self.call("catalog", "GET", "/api/reservations", params={"order_id": saga.saga_id,
                                                                            "status": "held"})
        released = []
        for reservation in resp.json() if resp.status_code == 200 else []:
            answer = await self.call("catalog", "POST", f"/api/reservations/{reservation['reservation_id']}/release")
            if answer.status_code == 200:
                released.append(f"{reservation['product_id']}×{reservation['quantity']}")
        return "released " + (", ".join(released) or "nothing (nothing was held)")

    async def charge_payment(self, saga: Saga) -> dict:
        """Payments: a payment intent for the total, confirmed with the customer's test card."""
        resp = await self.call("payments", "POST", "/api/payment_intents",
                               headers={"Idempotency-Key": f"{saga.saga_id}:charge"},
                               json={"amount": (saga.total or 0) * 100, "currency": "uah", "confirm": True,
                                     "payment_method": saga.request["payment_method"],
                                     "description": f"Сага {saga.saga_id}", "metadata": {"order_id": saga.saga_id}})
        if resp.status_code >= 400:
            raise BusinessFailure(_error(resp, "payments refused the payment"))
        intent = resp.json()
        if intent["status"] != "succeeded":
            error = (intent.get("last_payment_error") or {}).get("message") or intent["status"]
            raise BusinessFailure(f"card declined: {error}")
        return {"payment_intent": intent["id"], "amount": intent["amount"]}

    async def refund_payment(self, saga: Saga, result: dict) -> str:
        """Give the money back, if any was taken (found by the saga's id: a crash may have left no result)."""
        resp = await self.call("payments", "GET", "/api/payment_intents",
                               params={"order_id": saga.saga_id, "status": "succeeded"})
        refunded = []
        for intent in (resp.json().get("data", []) if resp.status_code == 200 else []):
            answer = await self.call("payments", "POST", "/api/refunds", json={"payment_intent": intent["id"]},
                                     headers={"Idempotency-Key": f"{saga.saga_id}:refund:{intent['id']}"})
            if answer.status_code in (200, 201):
                refunded.append(intent["id"])
        return "refunded " + (", ".join(refunded) or "nothing (no payment succeeded)")

    async def create_shipment(self, saga: Saga) -> dict:
        """Shipping: a waybill now; a carrier that refuses the address is a business failure."""
        shipping, customer = saga.request.get("shipping") or {}, saga.request.get("customer") or {}
        resp = await self.call("shipping", "POST", "/api/shipments", json={
            "order_id": saga.saga_id, "total": saga.total or 0,
            "recipient": {"name": customer.get("name") or "Одержувач", "city": shipping.get("city", "Київ"),
                          "warehouse": shipping.get("warehouse", "Відділення №1")}})
        if resp.status_code >= 400:
            raise BusinessFailure(_error(resp, "shipping refused"))
        body = resp.json()
        return {"waybill": body["waybill"], "estimated_delivery": body["estimated_delivery"]}

    async def approve_order(self, saga: Saga) -> dict:
        """The stock left with the parcel (its reservations are committed) and the order is approved."""
        committed = []
        for reservation_id in (saga.results.get("reserve_stock") or {}).get("reservations", []):
            resp = await self.call("catalog", "POST", f"/api/reservations/{reservation_id}/commit")
            if resp.status_code == 200:  # (a 4xx here cannot be undone any more: it is logged by the client)
                committed.append(reservation_id)
        return {"order_status": "approved", "committed": committed}


def _error(resp: httpx.Response, fallback: str) -> str:
    try:
        error = resp.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{fallback} ({resp.status_code})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UpstreamError):
        return str(exc)
    if isinstance(exc, NoInstance):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:200]


def _summary(result: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.items())[:300]
