"""Service discovery with the registry service: register and heartbeat, resolve and round-robin.

A service declared ``discoverable=True`` gets a :func:`registrar` worker from ``create_app``:
it registers the copy (``catalog-2`` at its URL) when it starts, renews its lease every
third of the TTL, registers again if the registry forgot it (the registry restarted), and
says goodbye when it stops. An instance that dies without a word is dropped when its TTL runs
out, and marked ``down`` sooner by the registry's health checks.

Callers use a :class:`Resolver` (client-side discovery)::

    resolver = Resolver(app.state.client)
    resp = await resolver.request("catalog", "GET", "/api/products/ABC")

It asks the registry for the instances that are ``up`` (cached for a second), takes them in
round-robin order and, when one does not answer (refused, timed out, 502/503/504), tries the
next: a stopped instance costs a caller one failed connection, not an error. If the registry
itself cannot be reached, it falls back to the declared addresses, so discovery failing does
not take the whole lab down with it; services that do not register (payments) are always
called at their declared address.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from typing import Any

import httpx

from .client import ServiceClient
from .declaration import Instance, declared, instance

log = logging.getLogger("labservices.discovery")

TTL_ENV = "LAB_DISCOVERY_TTL_S"  # how long a registration lives without a heartbeat (tests shorten it)
CACHE_S = 1.0
FAILOVER_STATUS = frozenset({502, 503, 504})


def registry_url() -> str:
    return instance("registry").url


def registrar(copy: Instance, ttl_s: float | None = None):
    """A worker that keeps ``copy`` registered while the app runs (heartbeats every third of the TTL)."""
    ttl_s = ttl_s or float(os.environ.get(TTL_ENV) or 10.0)

    async def register_and_heartbeat(app: Any) -> None:
        client: ServiceClient = app.state.client
        base = f"{registry_url()}/api/services/{copy.service.name}/instances"
        body = {"instance_id": copy.name, "url": copy.url, "ttl_s": ttl_s}
        registered = False
        pause = 1.0
        try:
            while True:
                try:
                    if not registered:
                        resp = await client.post(base, json=body, timeout=2.0)
                        registered = resp.status_code == 201
                        if registered:
                            log.info("registered %s at %s", copy.name, copy.url)
                    else:
                        resp = await client.put(f"{base}/{copy.name}/heartbeat", timeout=2.0)
                        if resp.status_code == 404:  # the registry restarted and forgot us: register again
                            registered = False
                            continue
                except httpx.HTTPError:
                    registered = False  # the registry is down: keep trying, less often
                pause = 1.0 if registered else min(pause * 1.5, 5.0)
                await asyncio.sleep(ttl_s / 3 if registered else pause)
        finally:
            if registered:
                with contextlib.suppress(Exception):
                    await asyncio.shield(client.delete(f"{base}/{copy.name}", timeout=1.0))

    register_and_heartbeat.__name__ = "registrar"
    return register_and_heartbeat


class NoInstance(Exception):
    """No instance of the service is up (or every one of them failed this call)."""

    transient = True  # another try (after a moment) may find one

    def __init__(self, service: str, tried: list[str], last: BaseException | None = None) -> None:
        self.service, self.tried, self.last = service, tried, last
        detail = f"; tried {', '.join(tried)}: {last}" if tried else ""
        super().__init__(f"no instance of {service} answered{detail}")


class Resolver:
    """Client-side discovery: resolve through the registry, round robin, fail over to the next instance."""

    def __init__(self, client: ServiceClient, cache_s: float = CACHE_S) -> None:
        self.client = client
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, list[dict[str, str]]]] = {}
        self._turns: dict[str, itertools.count] = {}
        self.source: dict[str, str] = {}  # per service: "registry" or "declared" (the registry was unreachable)

    def forget(self, service: str | None = None) -> None:
        if service is None:
            self._cache.clear()
        else:
            self._cache.pop(service, None)

    async def instances(self, service: str) -> list[dict[str, str]]:
        """The instances of ``service`` that are up: ``[{"instance_id", "url"}, ...]``."""
        cached = self._cache.get(service)
        if cached and time.monotonic() - cached[0] < self.cache_s:
            return cached[1]
        if not declared(service).discoverable:  # it does not register: its declared address is where it is
            self.source[service] = "declared"
            return [{"instance_id": c.name, "url": c.url} for c in declared(service).copies()]
        try:
            resp = await self.client.get(f"{registry_url()}/api/services/{service}", timeout=1.0)
            if resp.status_code == 404:
                found: list[dict[str, str]] = []
            else:
                resp.raise_for_status()
                found = [{"instance_id": i["instance_id"], "url": i["url"]} for i in resp.json()]
            self.source[service] = "registry"
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            found = [{"instance_id": c.name, "url": c.url} for c in declared(service).copies()]
            self.source[service] = "declared"
        self._cache[service] = (time.monotonic(), found)
        return found

    async def ordered(self, service: str) -> list[dict[str, str]]:
        """The instances up, starting with the next one in round-robin order."""
        found = await self.instances(service)
        if not found:
            return []
        start = next(self._turns.setdefault(service, itertools.count())) % len(found)
        return found[start:] + found[:start]

    async def request(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send to the next instance; when it does not answer, try the others once each.

        A request that never reached an instance (refused, connect timeout) always moves on. One
        that may have been processed (a read timeout, a 502/503/504) moves on only when repeating
        it is safe: GET, HEAD, PUT, DELETE, or a request with an ``Idempotency-Key``.
        """
        headers = kwargs.get("headers") or {}
        names = {k.lower() for k in (headers.keys() if isinstance(headers, dict) else (k for k, _ in headers))}
        repeatable = method.upper() in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS") or "idempotency-key" in names
        tried: list[str] = []
        last: BaseException | None = None
        candidates = await self.ordered(service)
        for inst in candidates:
            tried.append(inst["instance_id"])
            try:
                resp = await self.client.request(method, inst["url"] + path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = exc
                self.forget(service)  # it may be gone: ask the registry again next time
                continue
            except httpx.TransportError as exc:
                if not repeatable:
                    raise
                last = exc
                continue
            if resp.status_code in FAILOVER_STATUS and repeatable and len(tried) < len(candidates):
                last = httpx.HTTPStatusError(f"{inst['instance_id']} answered {resp.status_code}",
                                             request=resp.request, response=resp)
                continue
            resp.extensions["lab_instance"] = inst["instance_id"]
            return resp
        raise NoInstance(service, tried, last)
