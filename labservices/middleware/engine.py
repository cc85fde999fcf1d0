"""The workflow engine: small steps run in order, each retried, every run recorded step by step.

A workflow is a list of named steps (async functions of a ``Context`` that return what they
produced). The engine runs one execution per trigger:

* each step is tried up to ``retry_attempts`` times with the lab's one retry policy
  (``labservices.common.resilience.retrying``: tenacity, exponential backoff with full jitter, a
  stop by attempts and by a deadline), but only while its failure may pass (``Retryable``: no
  answer, 5xx, 429); a ``Fatal`` failure (a 4xx, a business "no") stops the run at once;
* a run that cannot go on is dead-lettered at the failed step; a manual replay goes on from there,
  reusing what the earlier steps produced, so nothing before it happens twice;
* every attempt writes the lecture's structured log lines (``action``: ``<step>_start``,
  ``<step>_success``, ``<step>_error``) with the execution's ``request_id`` and ``order_id``, and the
  request id travels in ``X-Request-ID`` to every service the steps call, so one id follows the order
  through all of their logs;
* ``middleware_steps_total{workflow,step,outcome}``, ``middleware_step_duration_seconds`` and
  ``middleware_dead_letters`` go to ``/metrics``.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from prometheus_client import Counter, Gauge, Histogram
from tenacity import RetryError

from labservices.common.context import request_id_var
from labservices.common.resilience import retrying

from .settings import Settings
from .store import Store

log = logging.getLogger("labservices.middleware")


class Retryable(Exception):
    """The step failed in a way that may pass (no answer, 5xx, 429): try it again."""

    transient = True  # what common.resilience.retrying retries


class Fatal(Exception):
    """Trying again will not help (a 4xx, a refusal): the run stops and waits in the dead letters."""


@dataclass
class Context:
    """What a step sees: the trigger's payload, what earlier steps produced, who it is in the logs."""

    execution_id: str
    payload: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    order_id: str | None
    request_id: str


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Context], Awaitable[dict[str, Any]]]
    title: str = ""  # how the run history names it (Ukrainian)


@dataclass(frozen=True)
class Workflow:
    name: str
    steps: tuple[Step, ...]
    key: Callable[[dict], str]  # what makes two triggers the same one (an order's id, a webhook's id)
    order_id: Callable[[dict], str | None] = field(default=lambda payload: None)


class Engine:
    def __init__(self, store: Store, settings: Settings, registry=None) -> None:
        self.store, self.settings = store, settings
        self.workflows: dict[str, Workflow] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.steps_total = Counter("middleware_steps_total", "Step attempts, by outcome",
                                   ["workflow", "step", "outcome"], registry=registry)
        self.step_seconds = Histogram("middleware_step_duration_seconds", "Time one step attempt took",
                                      ["workflow", "step"], registry=registry,
                                      buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.dead_gauge = Gauge("middleware_dead_letters", "Executions waiting in the dead-letter list",
                                registry=registry)

    def add(self, workflow: Workflow) -> None:
        self.workflows[workflow.name] = workflow

    async def trigger(self, name: str, payload: dict, request_id: str) -> tuple[dict, bool]:
        """Start a run for this trigger, or answer the run it already started (created False)."""
        workflow = self.workflows[name]
        execution, created = await asyncio.to_thread(
            self.store.begin, name, workflow.key(payload), workflow.order_id(payload), request_id, payload,
            [s.name for s in workflow.steps])
        if created:
            self._spawn(execution["id"])
        else:
            log.info("duplicate trigger ignored", extra={"action": "duplicate_ignored", "execution_id": execution["id"],
                                                         "order_id": execution["order_id"], "workflow": name})
        return execution, created

    async def replay(self, execution_id: str) -> dict:
        """Run a dead-lettered execution again from its failed step."""
        execution = await asyncio.to_thread(self.store.reopen, execution_id)
        log.info("replaying from the dead letters", extra={
            "action": "replay", "execution_id": execution_id, "order_id": execution["order_id"],
            "request_id": execution["request_id"]})
        self._spawn(execution_id)
        return execution

    async def wait(self, execution_id: str, timeout: float) -> None:
        task = self.tasks.get(execution_id)
        if task is not None:
            await asyncio.wait({task}, timeout=timeout)

    async def resume(self, app=None) -> None:
        """Worker: executions a stop interrupted go on when the service starts again."""
        for execution_id in await asyncio.to_thread(self.store.interrupted):
            self._spawn(execution_id)
        await self._count_dead()

    def _spawn(self, execution_id: str) -> None:
        task = asyncio.create_task(self.run(execution_id), name=f"execution:{execution_id}")
        self.tasks[execution_id] = task
        task.add_done_callback(lambda t: self.tasks.pop(execution_id, None) if self.tasks.get(execution_id) is t else None)

    async def run(self, execution_id: str) -> None:
        execution = await asyncio.to_thread(self.store.execution, execution_id)
        workflow = self.workflows[execution["workflow"]]
        request_id_var.set(execution["request_id"])  # this task's context: every log line and every call carries it
        outputs = {s["name"]: s["output"] for s in execution["steps"] if s["status"] == "success"}
        ctx = Context(execution_id, execution["payload"], outputs, execution["order_id"], execution["request_id"])
        for step in workflow.steps:
            if step.name in outputs:
                continue
            try:
                outputs[step.name] = await self._step(workflow, step, ctx)
            except (Fatal, Retryable) as exc:
                await asyncio.to_thread(self.store.dead, execution_id, step.name, str(exc))
                log.error("workflow stopped at %s: dead-lettered", step.name, extra=self._extra(
                    ctx, step, action="workflow_dead_lettered", error=str(exc)))
                await self._count_dead()
                return
        await asyncio.to_thread(self.store.finish, execution_id)
        log.info("workflow finished", extra=self._extra(ctx, None, action="workflow_success"))
        await self._count_dead()

    async def _step(self, workflow: Workflow, step: Step, ctx: Context) -> dict[str, Any]:
        policy = retrying(attempts=self.settings.retry_attempts, deadline_s=self.settings.retry_deadline_s,
                          initial_s=self.settings.retry_wait_s, max_wait_s=self.settings.retry_max_wait_s)
        try:
            async for attempt in policy:
                with attempt:
                    return await self._attempt(workflow, step, ctx)
        except RetryError as exc:  # reraise=True makes this rare; keep the last cause
            raise Retryable(str(exc.last_attempt.exception())) from None
        raise AssertionError("unreachable")

    async def _attempt(self, workflow: Workflow, step: Step, ctx: Context) -> dict[str, Any]:
        number = await asyncio.to_thread(self.store.step_started, ctx.execution_id, step.name)
        log.info("%s: start", step.name, extra=self._extra(ctx, step, action=f"{step.name}_start", attempt=number))
        started = time.perf_counter()
        try:
            output = await step.run(ctx)
        except (Fatal, Retryable) as exc:
            final = isinstance(exc, Fatal) or number >= self.settings.retry_attempts
            self._observe(workflow, step, "retried" if not final else "failed", started)
            await asyncio.to_thread(self.store.step_failed, ctx.execution_id, step.name, str(exc), final)
            log.warning("%s: failed (%s)", step.name, exc, extra=self._extra(
                ctx, step, action=f"{step.name}_error", attempt=number, error=str(exc), will_retry=not final))
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in a step: recorded and dead-lettered, never lost
            self._observe(workflow, step, "failed", started)
            await asyncio.to_thread(self.store.step_failed, ctx.execution_id, step.name, repr(exc)[:300], True)
            log.exception("%s: crashed", step.name, extra=self._extra(ctx, step, action=f"{step.name}_error"))
            raise Fatal(f"{type(exc).__name__}: {exc}"[:300]) from exc
        self._observe(workflow, step, "success", started)
        await asyncio.to_thread(self.store.step_done, ctx.execution_id, step.name, output)
        log.info("%s: success", step.name, extra=self._extra(ctx, step, action=f"{step.name}_success",
                                                              attempt=number, **{f"out_{k}": v for k, v in output.items()
                                                                                 if isinstance(v, (str, int, float))}))
        return output

    def _observe(self, workflow: Workflow, step: Step, outcome: str, started: float) -> None:
        self.steps_total.labels(workflow=workflow.name, step=step.name, outcome=outcome).inc()
        self.step_seconds.labels(workflow=workflow.name, step=step.name).observe(time.perf_counter() - started)

    async def _count_dead(self) -> None:
        self.dead_gauge.set(len(await asyncio.to_thread(self.store.dead_letters)))

    @staticmethod
    def _extra(ctx: Context, step: Step | None, **fields: Any) -> dict[str, Any]:
        return {"request_id": ctx.request_id, "order_id": ctx.order_id, "execution_id": ctx.execution_id,
                "step": step.name if step else None, **fields}
