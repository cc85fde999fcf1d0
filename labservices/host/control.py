"""The host's control API, on its own loopback port: what `lab stop`, `lab status` and labkit call.

``GET /services`` lists every service with its state (running, stopped, failed, isolated...);
``POST /services/{name}/stop|start|restart|isolate|join`` act on one; ``POST
/services/{name}/signal`` sends a real signal to an isolated one; ``GET /memory`` and
``GET /loop`` tell what the process costs and whether anything blocked its loop.
"""
from __future__ import annotations

from typing import Literal

from fastapi import FastAPI, Path, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from labservices.common.errors import ApiError, install_error_handlers
from labservices.common.middleware import ForwardedPrefixMiddleware, LastResortMiddleware, RequestIdMiddleware

from .host import Host, HostError

ServiceName = Path(pattern=r"^[a-z][a-z0-9-]{0,30}$", description="A lab service, e.g. shop")


class ServiceState(BaseModel):
    """One service as the host sees it."""

    name: str = Field(examples=["shop"])
    service: str = Field(examples=["shop"])
    url: str = Field(examples=["http://127.0.0.1:8001"])
    state: str = Field(examples=["running"], description="running, starting, stopping, stopped, failed, "
                                                          "restarting or frozen")
    mode: Literal["host", "isolated"] = Field(description="In the shared host process, or in a process of its own")
    pid: int | None = Field(default=None, description="The process of an isolated service")
    error: str | None = Field(default=None, description="Why it is failed or restarting")
    restarts: int = 0
    started_at: float | None = None


class SignalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: Literal["KILL", "STOP", "CONT", "TERM", "INT"] = Field(description="Sent to the isolated process")


def build_control_app(host: Host) -> FastAPI:
    app = FastAPI(title="Integration Lab: service host", version="1.0.0",
                  description="Start, stop, restart, isolate and signal the lab's services; the host's memory.")
    install_error_handlers(app)
    app.add_middleware(LastResortMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ForwardedPrefixMiddleware)  # its /docs through jupyter-server-proxy too
    registry = CollectorRegistry()
    pss = Gauge("lab_host_pss_bytes", "Proportional set size of the host process", registry=registry)
    lag = Gauge("lab_host_loop_max_lag_seconds", "Longest the event loop was late to answer", registry=registry)
    blocked = Gauge("lab_host_loop_blocks", "Times the loop was blocked past the threshold", registry=registry)

    async def act(coro) -> ServiceState:
        try:
            return ServiceState(**await coro)
        except HostError as exc:
            raise ApiError(exc.status, message=exc.message) from None

    @app.get("/health")
    def health() -> dict:
        """The host is up."""
        return {"status": "ok", "service": "host"}

    @app.get("/services", response_model=list[ServiceState])
    def services() -> list[dict]:
        """Every declared service and its state."""
        return host.describe()

    @app.get("/services/{name}", response_model=ServiceState)
    def one(name: str = ServiceName) -> dict:
        """One service and its state."""
        try:
            host.instance(name)
        except HostError as exc:
            raise ApiError(exc.status, message=exc.message) from None
        return next(s for s in host.describe() if s["name"] == name)

    @app.post("/services/{name}/start", response_model=ServiceState)
    async def start(name: str = ServiceName) -> ServiceState:
        """Start a stopped service (in the mode it was last in)."""
        return await act(host.start(name))

    @app.post("/services/{name}/stop", response_model=ServiceState)
    async def stop(name: str = ServiceName) -> ServiceState:
        """Stop a service: its port refuses connections until it is started again."""
        return await act(host.stop(name))

    @app.post("/services/{name}/restart", response_model=ServiceState)
    async def restart(name: str = ServiceName) -> ServiceState:
        """Stop and start a service (a fresh app: in-memory state is gone, its database stays)."""
        return await act(host.restart(name))

    @app.post("/services/{name}/isolate", response_model=ServiceState)
    async def isolate(name: str = ServiceName) -> ServiceState:
        """Run a service in a process of its own, so it can be killed or frozen like a real one."""
        return await act(host.isolate(name))

    @app.post("/services/{name}/join", response_model=ServiceState)
    async def join(name: str = ServiceName) -> ServiceState:
        """Bring an isolated service back into the shared host process."""
        return await act(host.join(name))

    @app.post("/services/{name}/signal", response_model=ServiceState)
    async def send_signal(body: SignalRequest, name: str = ServiceName) -> ServiceState:
        """Send SIGKILL, SIGSTOP, SIGCONT or SIGTERM to an isolated service's process."""
        async def now() -> dict:
            return host.signal(name, body.signal)
        return await act(now())

    @app.get("/memory")
    def memory() -> dict:
        """PSS and RSS of the host and of each isolated service's process."""
        return host.memory()

    @app.get("/loop")
    def loop() -> dict:
        """Whether anything blocked the shared event loop, for how long, and where."""
        return host.watchdog.report() if host.watchdog else {"blocked": 0, "blocks": [], "max_lag_ms": 0}

    @app.get("/metrics")
    def metrics() -> Response:
        """The host's own series (memory, event-loop lag) in Prometheus format."""
        pss.set(host.memory()["host"]["pss_bytes"] or 0)
        report = loop()
        lag.set(report["max_lag_ms"] / 1000)
        blocked.set(report["blocked"])
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
