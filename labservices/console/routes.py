"""The console's JSON API: what its page polls, and the buttons it has (stop, start, chaos).

Everything comes from what the lab already has: `lab status` (``labkit.stack``), the
services' own APIs (payments' deliveries, the event log), RabbitMQ's management API
(``labkit.brokers``) and the trace file (``labkit.traces``). Blocking calls run in threads,
never on the host's shared event loop.
"""
from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

import httpx
from fastapi import APIRouter, Path, Query

from labkit import components, config
from labkit.browser import docs_url
from labkit.errors import StackError
from labkit.stack import ComponentStatus, Stack
from labservices.common import ApiError
from labservices.common.errors import error_responses

from .models import ChaosUpdate, ComponentPublic, OverviewPublic, QueuePublic

router = APIRouter(prefix="/api", tags=["Console"])
Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,30}$", description="A lab component, e.g. shop")]
UNCONTROLLED = {"host", "console"}  # stopping either from here would stop this very page


def _controllable(s: ComponentStatus) -> bool:
    return s.name not in UNCONTROLLED and s.state != "external" and (s.kind == "service" or s.managed)


async def _chaos(http: httpx.AsyncClient, statuses: list[ComponentStatus]) -> dict[str, dict]:
    """The chaos switches of every service that answers, asked side by side."""
    running = [s for s in statuses if s.kind == "service" and s.health != "stopped" and s.state != "external"]

    async def one(s: ComponentStatus) -> dict | None:
        try:
            resp = await http.get(s.url + "/admin/chaos")
            return resp.json() if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    found = await asyncio.gather(*(one(s) for s in running))
    return {s.name: c for s, c in zip(running, found) if c is not None}


@router.get("/overview", response_model=OverviewPublic)
async def overview() -> OverviewPublic:
    """Every component of the lab as `lab status` sees it, with each running service's chaos switches."""
    stack = Stack()
    statuses = await asyncio.to_thread(stack.status)
    async with _client() as http:
        chaos = await _chaos(http, statuses)
    rows = [ComponentPublic(name=s.name, kind=s.kind, url=s.url, health=s.health, state=s.state, pid=s.pid,
                            pss_mb=s.pss_mb, note=s.note, chaos=chaos.get(s.name), controllable=_controllable(s),
                            docs=docs_url(s.name) if s.kind == "service" else None)
            for s in statuses]
    total = sum(s.pss_mb or 0 for s in statuses)
    return OverviewPublic(components=rows, total_pss_mb=round(total, 1), home=str(stack.home))


async def _act(name: str, action: str) -> dict:
    stack = Stack()
    statuses = {s.name: s for s in await asyncio.to_thread(stack.status)}
    if name not in statuses:
        raise ApiError(404, "NOT_FOUND", f"The lab has no component called {name!r}.")
    if not _controllable(statuses[name]):
        raise ApiError(409, "NOT_CONTROLLABLE", f"{name} cannot be stopped or started from the console; "
                                                f"use `lab {action} {name}` in a terminal.")
    try:
        if action == "stop":
            await asyncio.to_thread(stack.stop, name)
        else:
            await asyncio.to_thread(getattr(stack, action), name, 120.0)
    except StackError as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None
    now = next(s for s in await asyncio.to_thread(stack.status) if s.name == name)
    return {"name": name, "state": now.state, "health": now.health}


@router.post("/components/{name}/stop", responses=error_responses(404, 409))
async def stop(name: Name) -> dict:
    """Stop one component, as `lab stop NAME`: a service's port refuses connections until it is started."""
    return await _act(name, "stop")


@router.post("/components/{name}/start", responses=error_responses(404, 409))
async def start(name: Name) -> dict:
    """Start one stopped component, as `lab start NAME`, and wait until it is healthy."""
    return await _act(name, "start")


@router.post("/components/{name}/restart", responses=error_responses(404, 409))
async def restart(name: Name) -> dict:
    """Restart one component, as `lab restart NAME` (a service gets a fresh app; its data stays)."""
    return await _act(name, "restart")


@router.put("/services/{name}/chaos", responses=error_responses(404, 409))
async def set_chaos(name: Name, body: ChaosUpdate) -> dict:
    """Set a service's chaos switches, as `lab chaos NAME --latency ... --error-rate ... --down`."""
    switches = body.model_dump(exclude_none=True)
    if not switches:
        raise ApiError(400, "VALIDATION_ERROR", "Name at least one switch, or DELETE to switch chaos off.")
    return await _chaos_call(name, switches)


@router.delete("/services/{name}/chaos", responses=error_responses(404, 409))
async def clear_chaos(name: Name) -> dict:
    """Switch every chaos setting of a service off, as `lab chaos NAME --off`."""
    return await _chaos_call(name, {})


async def _chaos_call(name: str, switches: dict) -> dict:
    if name not in {c.name for c in components.components() if c.kind == "service"}:
        raise ApiError(404, "NOT_FOUND", f"The lab has no service called {name!r}.")
    try:
        return await asyncio.to_thread(Stack().chaos, name, **switches)
    except StackError as exc:
        raise ApiError(409, "CONFLICT", str(exc)) from None


def _client() -> httpx.AsyncClient:
    """A client whose calls no service records: the console's polling is not the lab's traffic.

    Each call carries a W3C ``traceparent`` whose sampled flag is off; the services' tracers follow
    their caller's decision (OpenTelemetry's parent-based sampler), so they keep no span of it.
    """
    unsampled = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
    return httpx.AsyncClient(timeout=3.0, headers={"traceparent": unsampled})


async def _upstream(service: str, path: str, params: dict) -> object:
    """GET from another lab service's API; 503 in the envelope when it does not answer."""
    try:
        async with _client() as http:
            resp = await http.get(config.url(service) + path, params=params)
        resp.raise_for_status()
        return resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ApiError(503, "UPSTREAM_UNAVAILABLE", f"{service} does not answer ({type(exc).__name__}); "
                                                    f"is it stopped? `lab start {service}`.") from None


@router.get("/deliveries", responses=error_responses(503))
async def deliveries(limit: Annotated[int, Query(ge=1, le=100)] = 15) -> object:
    """The payments service's latest webhook deliveries: event, endpoint, status, attempts."""
    return await _upstream("payments", "/api/deliveries", {"limit": limit})


@router.get("/events", responses=error_responses(503))
async def events(limit: Annotated[int, Query(ge=1, le=100)] = 15) -> object:
    """The latest events on the bus, as the event log appended them to Kafka."""
    return await _upstream("eventlog", "/api/events", {"limit": limit})


@router.get("/queues", response_model=list[QueuePublic], responses=error_responses(503))
async def queues() -> list[QueuePublic]:
    """Every RabbitMQ queue with its depth (ready, unacked) and consumers, from the management API."""
    from labkit.brokers import RABBITMQ

    try:
        found = await asyncio.to_thread(RABBITMQ.management.queues)
    except Exception as exc:  # noqa: BLE001 - any failure of the broker is the same answer to the page
        raise ApiError(503, "BROKER_UNAVAILABLE", f"RabbitMQ's management API does not answer at "
                                                  f"{RABBITMQ.management_url} ({type(exc).__name__}).") from None
    return [QueuePublic(vhost=q.get("vhost", "/"), name=q.get("name", ""), ready=int(q.get("messages_ready") or 0),
                        unacked=int(q.get("messages_unacknowledged") or 0), consumers=int(q.get("consumers") or 0))
            for q in found]


@router.get("/traces")
async def traces(limit: Annotated[int, Query(ge=1, le=50)] = 12) -> list[dict]:
    """The latest traces (heartbeats apart): the first operation, the services they crossed, how long they took."""
    from labkit.traces import recent_traces

    found = await asyncio.to_thread(recent_traces, None, limit * 5)
    # The registry's heartbeats (every few seconds from each discoverable service) would hide everything else.
    return [t for t in found if not t["root"].endswith("/heartbeat")][:limit]


@router.get("/traces/{trace_id}", responses=error_responses(404))
async def trace(trace_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]) -> list[dict]:
    """One trace's spans as waterfall rows: service, operation, start and duration (ms)."""
    from labkit.traces import Waterfall, spans

    found = await asyncio.to_thread(spans, trace_id)
    if not found:
        raise ApiError(404, "NOT_FOUND", f"No spans of trace {trace_id} are recorded.")
    return Waterfall(trace_id, found).rows()
