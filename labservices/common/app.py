"""The app factory every lab service is built with.

``create_app`` gives a service the lecture's error envelope, request ids, JSON
logs, ``/health``, ``/metrics`` and the chaos switches, so a service's own
``main.py`` only names itself and includes its routers.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable

from fastapi import APIRouter, FastAPI, Request, Response, status
from pydantic import BaseModel, Field

from .chaos import ChaosConfig, ChaosState
from .errors import install_error_handlers
from .logs import configure_logging
from .metrics import Metrics
from .middleware import LabMiddleware
from .settings import ServiceSettings


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
        """Set the chaos switches: latency, jitter, error rate and status, or down (503 for all)."""
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


CHAOS_DOC = """

### Chaos switches
`PUT /admin/chaos` with `{"latency_ms": 500, "error_rate": 0.3, "error_status": 503, "down": false}`
slows or breaks every request outside `/admin`, `/metrics` and these docs, so you can see how a
client copes; `DELETE /admin/chaos` switches it all off. `down: true` answers 503 everywhere,
`/health` included.

### Errors
Every error has the lecture's shape, `{"error": {"code", "message", "details", "request_id",
"timestamp"}}`; send `Accept: application/problem+json` to get RFC 9457 problem details instead.
Every response carries `X-Request-ID` (send your own to trace a call through the logs).
"""


def create_app(
    service: str,
    *,
    title: str,
    description: str = "",
    version: str = "1.0.0",
    settings: ServiceSettings | None = None,
    routers: Iterable[APIRouter] = (),
    reset: Callable[[], None] | None = None,
    openapi_tags: list[dict] | None = None,
    lifespan=None,
) -> FastAPI:
    """Build a lab service: shared behaviour plus the service's own routers."""
    settings = settings or ServiceSettings()
    configure_logging(service, settings.log_level, settings.log_json)
    tags = (openapi_tags or []) + [
        {"name": "Lab", "description": "Health, metrics and seed data of the sandbox."},
        {"name": "Chaos", "description": "Switches that inject latency and failures."},
    ]
    app = FastAPI(
        title=title,
        description=description + CHAOS_DOC,
        version=version,
        openapi_tags=tags,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.metrics = Metrics(service)
    app.state.chaos = ChaosState()
    install_error_handlers(app)
    app.add_middleware(
        LabMiddleware,
        metrics=app.state.metrics,
        chaos=app.state.chaos,
        max_body_bytes=settings.max_body_bytes,
    )
    app.include_router(_lab_router(service, version, reset))
    for router in routers:
        app.include_router(router)
    return app
