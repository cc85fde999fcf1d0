"""The registry: who is up, where. In memory, like Eureka's: instances re-register when it restarts."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, FastAPI, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ApiError, ServiceSettings, create_app, error_responses
from labservices.common.clock import iso
from labservices.common.declaration import Instance, lab_hosts
from labservices.common.targets import target_problem

from . import SERVICE

log = logging.getLogger("labservices.registry")

DESCRIPTION = """Service discovery: where the instances of each service are, and whether they are up.

An instance **registers** itself on start (`POST /api/services/{service}/instances` with its id and URL)
and renews its lease with a **heartbeat** every few seconds; an instance whose lease runs out (it
stopped without saying goodbye) is dropped. The registry also **health-checks** every instance
(`GET /health` every 2 s, a 5 s timeout) and marks one `down` after two failures, so clients stop sending it
work at once. Clients **resolve** a name to the instances that are `up` (`GET /api/services/{service}`).
Consul and Eureka do the same, with more care for what a real cluster needs.
"""

Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,30}$", description="A service, e.g. catalog")]
InstanceId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9.-]{0,60}$", description="e.g. catalog-2")]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    check_interval_s: float = Field(2.0, gt=0, le=60, description="How often each instance's /health is checked")
    failures_down: int = Field(2, ge=1, le=10, description="Failed checks in a row that mark an instance down")
    check_timeout_s: float = Field(5.0, gt=0, le=60, description="A check slower than this fails (Consul: 10 s)")


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instance_id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,60}$", examples=["catalog-2"])
    url: str = Field(pattern=r"^https?://[^\s/]+$", max_length=200, examples=["http://127.0.0.1:8023"])
    ttl_s: float = Field(10.0, ge=1, le=300, description="Dropped if no heartbeat comes for this long")


class InstancePublic(BaseModel):
    instance_id: str
    url: str
    status: Literal["up", "down"] = Field(description="down: its health check failed")
    ttl_s: float
    registered_at: str
    last_heartbeat: str
    failed_checks: int


@dataclass
class Entry:
    service: str
    instance_id: str
    url: str
    ttl_s: float
    registered_at: float = field(default_factory=time.time)
    last_heartbeat: float = field(default_factory=time.time)
    failed_checks: int = 0

    @property
    def status(self) -> str:
        return "down" if self.failed_checks >= self._failures_down else "up"

    _failures_down: int = 2

    def public(self) -> dict:
        return {"instance_id": self.instance_id, "url": self.url, "status": self.status, "ttl_s": self.ttl_s,
                "registered_at": iso(self.registered_at, ms=True), "last_heartbeat": iso(self.last_heartbeat, ms=True),
                "failed_checks": self.failed_checks}


class Registry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.entries: dict[tuple[str, str], Entry] = {}

    def register(self, service: str, body: Registration) -> Entry:
        problem = target_problem(body.url, lab_hosts())  # the registry calls what is registered: no SSRF
        if problem:
            raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту", [{"field": "url", "message": problem}])
        entry = Entry(service, body.instance_id, body.url, body.ttl_s, _failures_down=self.settings.failures_down)
        known = self.entries.get((service, body.instance_id))
        if known is None or known.url != body.url:
            log.info("%s registered at %s", body.instance_id, body.url, extra={"registered": service})
        self.entries[(service, body.instance_id)] = entry
        return entry

    def heartbeat(self, service: str, instance_id: str) -> Entry:
        entry = self.entries.get((service, instance_id))
        if entry is None:
            raise ApiError(404, "NOT_REGISTERED", f"{instance_id} не зареєстровано в {service}: зареєструйтеся знову")
        entry.last_heartbeat = time.time()
        return entry

    def drop_expired(self) -> None:
        now = time.time()
        for key, entry in list(self.entries.items()):
            if now - entry.last_heartbeat > entry.ttl_s:
                log.info("%s dropped: no heartbeat for %.0f s", entry.instance_id, now - entry.last_heartbeat)
                del self.entries[key]

    def of(self, service: str) -> list[Entry]:
        return sorted((e for e in self.entries.values() if e.service == service), key=lambda e: e.instance_id)

    async def check(self, client: httpx.AsyncClient, timeout_s: float = 5.0) -> None:
        """One round: drop expired leases, ask every instance's /health."""
        self.drop_expired()

        async def one(entry: Entry) -> None:
            try:
                ok = (await client.get(entry.url + "/health", timeout=timeout_s)).status_code == 200
            except httpx.HTTPError:
                ok = False
            before = entry.status
            entry.failed_checks = 0 if ok else entry.failed_checks + 1
            if entry.status != before:
                log.warning("%s is %s", entry.instance_id, entry.status, extra={"instance_url": entry.url})

        await asyncio.gather(*(one(e) for e in list(self.entries.values())))


def build_app(instance: Instance | None = None) -> FastAPI:
    """The registry: an in-memory table of instances and a worker that health-checks them."""
    settings = Settings.for_instance(instance)
    registry = Registry(settings)
    router = APIRouter(prefix="/api/services", tags=["Discovery"])

    @router.get("", response_model=dict[str, list[InstancePublic]])
    def list_services() -> dict:
        """Every service with its instances."""
        services = sorted({e.service for e in registry.entries.values()})
        return {s: [e.public() for e in registry.of(s)] for s in services}

    @router.get("/{service}", response_model=list[InstancePublic], responses=error_responses(400, 404))
    def resolve(service: Name, status: Literal["up", "down", "all"] = "up") -> list[dict]:
        """The instances of a service (by default only those up): what a client picks from."""
        found = [e.public() for e in registry.of(service) if status == "all" or e.status == status]
        if not found and not registry.of(service):
            raise ApiError(404, "UNKNOWN_SERVICE", f"Сервіс {service} не зареєстрований (жоден екземпляр)")
        return found

    @router.post("/{service}/instances", status_code=201, response_model=InstancePublic, responses=error_responses(400))
    def register(service: Name, body: Registration) -> dict:
        """Register an instance (again: renews it); it must then send heartbeats within its TTL."""
        return registry.register(service, body).public()

    @router.put("/{service}/instances/{instance_id}/heartbeat", response_model=InstancePublic,
                responses=error_responses(400, 404))
    def heartbeat(service: Name, instance_id: InstanceId) -> dict:
        """Renew the lease (404: not registered any more, register again)."""
        return registry.heartbeat(service, instance_id).public()

    @router.delete("/{service}/instances/{instance_id}", status_code=204, responses=error_responses(400, 404))
    def deregister(service: Name, instance_id: InstanceId) -> Response:
        """An instance that stops politely says goodbye."""
        if registry.entries.pop((service, instance_id), None) is None:
            raise ApiError(404, "NOT_REGISTERED", f"{instance_id} не зареєстровано в {service}")
        return Response(status_code=204)

    async def health_checks(_app: FastAPI) -> None:
        """Worker: check every instance every few seconds; drop leases that ran out."""
        async with httpx.AsyncClient(trust_env=False) as client:
            while True:
                await registry.check(client, settings.check_timeout_s)
                await asyncio.sleep(settings.check_interval_s)

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router], reset=registry.entries.clear, workers=[health_checks],
                     openapi_tags=[{"name": "Discovery", "description": "Register, renew, resolve."}])
    app.state.registry = registry
    return app
