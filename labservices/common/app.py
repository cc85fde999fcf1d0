"""The app factory every lab service is built with.

``create_app`` gives a service the lecture's error envelope, request ids, JSON logs,
``/health``, ``/metrics``, the chaos switches, tracing, an outgoing HTTP client and
supervised background workers, so a service's own ``main.py`` only names itself, builds
its store and includes its routers.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Callable, Iterable

from fastapi import APIRouter, FastAPI, Request, Response, status
from pydantic import BaseModel, Field

from . import openapi, tracing
from . import workers as workers_mod
from .chaos import ChaosConfig, ChaosState
from .client import ServiceClient
from .declaration import Instance
from .errors import install_error_handlers
from .metrics import Metrics
from .middleware import (BodyLimitMiddleware, ChaosMiddleware, HeadOptionsMiddleware, LastResortMiddleware,
                         ObserveMiddleware, RequestIdMiddleware)
from .ratelimit import RateLimitHeaders
from .settings import ServiceSettings

log = logging.getLogger("labservices.app")


class Health(BaseModel):
    """What ``GET /health`` answers while the service is up."""

    status: str = Field(examples=["ok"])
    service: str = Field(examples=["shop"])
    version: str = Field(examples=["1.0.0"])
    uptime_s: float = Field(examples=[12.5])


class ResetResult(BaseModel):
    """What ``POST /admin/reset`` answers."""

    status: str = Field(examples=["reset"])
    service: str = Field(examples=["shop"])


def _lab_router(service: str, version: str, reset: Callable[[], None] | None) -> APIRouter:
    router = APIRouter()
    started = time.monotonic()

    @router.get("/health", response_model=Health, tags=["Lab"])
    def health() -> Health:
        """Report that the service is up (answers 503 while chaos `down` is on)."""
        return Health(status="ok", service=service, version=version, uptime_s=round(time.monotonic() - started, 3))

    @router.get("/metrics", tags=["Lab"], response_class=Response,
                responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
    def metrics(request: Request) -> Response:
        """Expose request counts, latency histograms and injected chaos in Prometheus format."""
        m: Metrics = request.app.state.metrics
        return Response(m.render(), media_type=m.content_type)

    @router.get("/admin/chaos", response_model=ChaosConfig, tags=["Chaos"])
    def get_chaos(request: Request) -> ChaosConfig:
        """Show the chaos switches now in force."""
        return request.app.state.chaos.as_config()

    @router.put("/admin/chaos", response_model=ChaosConfig, tags=["Chaos"])
    def put_chaos(cfg: ChaosConfig, request: Request) -> ChaosConfig:
        """Set the chaos switches: latency, jitter, error rate and status, or down (503 for all); in memory only."""
        request.app.state.chaos.update(cfg)
        return request.app.state.chaos.as_config()

    @router.delete("/admin/chaos", status_code=status.HTTP_204_NO_CONTENT, tags=["Chaos"])
    def clear_chaos(request: Request) -> Response:
        """Switch all chaos off."""
        request.app.state.chaos.clear()
        return Response(status_code=204)

    @router.post("/admin/reset", response_model=ResetResult, tags=["Lab"])
    def reset_data(request: Request) -> ResetResult:
        """Restore the service's seed data and switch chaos off (what `lab reset` calls)."""
        if reset is not None:
            reset()
        request.app.state.chaos.clear()
        return ResetResult(status="reset", service=service)

    return router


def prepare_routes(router) -> None:
    """Build what FastAPI builds for a route on its first request (body models, dependencies) now.

    FastAPI (0.160+) prepares the routes of an included router when the first request is matched
    against them: a few hundred milliseconds for a service like the shop, on the event loop that
    every service of the host shares. Doing it in a thread at start-up keeps the loop free.
    """
    def prepare(branch) -> None:
        for candidate in branch.effective_candidates():
            if hasattr(candidate, "effective_candidates"):
                prepare(candidate)
        branch.effective_low_priority_routes()

    for route in router.routes:
        if hasattr(route, "effective_candidates"):  # an included router (FastAPI before 0.160 has none)
            prepare(route)


CHAOS_DOC = """

### Chaos switches
`PUT /admin/chaos` with `{"latency_ms": 500, "error_rate": 0.3, "error_status": 503, "down": false}`
slows or breaks every request outside `/admin`, `/metrics` and these docs, so you can see how a
client copes; `DELETE /admin/chaos` switches it all off. `down: true` answers 503 everywhere,
`/health` included.

**Run-time switches live in memory.** Chaos, like every other switch a sandbox service takes at
run time (the shop's `PUT /admin/rate-limit`, the payments service's `PUT /admin/delivery` and
`PUT /admin/flaky`), is kept in the running service only: `lab restart`, `lab kill` (the service is
started again) or a crash brings back the settings it was started with (its environment), and
`POST /admin/reset` (`lab reset`) switches them off too. Nothing of it is written to disk, so a
broken lab always mends by restarting. To keep a setting across restarts, set it in the service's
environment (e.g. `SHOP_RATE_LIMIT_PER_MINUTE`).

### Errors
Every error has the lecture's shape, `{"error": {"code", "message", "details", "request_id",
"timestamp"}}`; send `Accept: application/problem+json` to get RFC 9457 problem details instead.
Every response carries `X-Request-ID` (send your own to trace a call through the logs) and
`traceresponse`, the W3C trace id of the request (`labkit.traces` draws it as a waterfall).
"""


def create_app(
    service: str | Instance,
    *,
    title: str,
    description: str = "",
    version: str = "1.0.0",
    settings: ServiceSettings | None = None,
    routers: Iterable[APIRouter] = (),
    reset: Callable[[], None] | None = None,
    openapi_tags: list[dict] | None = None,
    workers: Iterable[workers_mod.Worker] = (),
    on_stop: Iterable[Callable[[], None]] = (),
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """Build a lab service: shared behaviour plus the service's own routers.

    ``workers`` run in the background while the app runs (restarted if they crash);
    ``on_stop`` runs when it stops (close the database); ``allowed_hosts`` are the host
    names besides loopback its outgoing client may call (default: the lab's services).
    """
    name = service.name if isinstance(service, Instance) else service
    settings = settings or ServiceSettings()
    tags = (openapi_tags or []) + [
        {"name": "Lab", "description": "Health, metrics and seed data of the sandbox."},
        {"name": "Chaos", "description": "Switches that inject latency and failures."},
    ]
    on_stop = list(on_stop)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(prepare_routes, app.router)
        try:
            tasks = workers_mod.start(app, app.state.workers)
        except Exception as exc:  # the host reports this as the reason the service did not start
            app.state.startup_error = f"{type(exc).__name__}: {exc}"
            raise
        try:
            yield
        finally:
            await workers_mod.stop(tasks)
            await app.state.client.aclose()
            for close in on_stop:
                close()

    app = FastAPI(title=f"Integration Lab: {title}", description=description + CHAOS_DOC, version=version,
                  openapi_tags=tags, lifespan=lifespan)
    app.state.service = name
    app.state.settings = settings
    app.state.metrics = Metrics(name)
    app.state.chaos = ChaosState()
    app.state.client = ServiceClient(name, app.state.metrics, allowed_hosts=allowed_hosts)
    app.state.startup_error = None
    app.state.workers = list(workers)  # the event bus adds its own (labservices.common.events)
    if isinstance(service, Instance) and service.service.discoverable:
        from .discovery import registrar

        app.state.workers.append(registrar(service))
    install_error_handlers(app)
    openapi.install(app)
    # add_middleware puts each new one outside the last: this reads from the innermost out.
    app.add_middleware(HeadOptionsMiddleware)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(LastResortMiddleware)
    app.add_middleware(ChaosMiddleware, chaos=app.state.chaos, metrics=app.state.metrics)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ObserveMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestIdMiddleware)
    tracing.instrument_app(app, name)  # outermost: the server span covers all of the above
    app.include_router(_lab_router(name, version, reset))
    for router in routers:
        app.include_router(router)
    return app
