"""Service discovery over real HTTP: registration, heartbeats, health checks, round robin and failover."""
from __future__ import annotations

import asyncio
import os

import pytest
import requests

from labservices.common.client import ServiceClient
from labservices.common.discovery import NoInstance, Resolver
from tests.microservices.conftest import Micro, wait_for


def test_both_catalog_copies_register_with_their_own_urls(micro: Micro):
    found = {i["instance_id"]: i for i in micro.get("registry", "/api/services/catalog").json()}
    assert set(found) == {"catalog", "catalog-2"}
    assert found["catalog"]["url"] == micro.url("catalog") and found["catalog-2"]["url"] == micro.url("catalog-2")
    assert all(i["status"] == "up" and i["failed_checks"] == 0 for i in found.values())


def test_heartbeats_renew_the_lease(micro: Micro):
    first = micro.get("registry", "/api/services/users").json()[0]["last_heartbeat"]
    assert wait_for(lambda: micro.get("registry", "/api/services/users").json()[0]["last_heartbeat"] > first,
                    timeout=5, what="a heartbeat")


def test_a_stopped_copy_says_goodbye_and_comes_back_when_started(micro: Micro):
    micro.stack.stop("catalog-2")
    try:
        assert micro.registered("catalog") == ["catalog"]  # deregistered on the way down, at once
    finally:
        micro.stack.start("catalog-2")
    wait_for(lambda: "catalog-2" in micro.registered("catalog"), timeout=10, what="catalog-2 registered again")


def test_a_killed_copy_is_dropped_when_its_lease_runs_out(micro: Micro):
    """SIGKILL: no goodbye. The health check marks it down, then its TTL (3 s here) drops it."""
    host = os.environ["LAB_HOST_URL"]
    micro.stack.isolate("catalog-2")
    try:
        micro.stack.signal("catalog-2", "STOP")  # frozen: its port is open, it answers nothing, it sends nothing
        wait_for(lambda: micro.registered("catalog") == ["catalog"], timeout=10, what="catalog-2 marked down")
        wait_for(lambda: [i["instance_id"] for i in micro.get("registry", "/api/services/catalog?status=all").json()]
                 == ["catalog"], timeout=10, what="catalog-2's lease run out")
        micro.stack.signal("catalog-2", "CONT")
        wait_for(lambda: "catalog-2" in micro.registered("catalog"), timeout=15, what="catalog-2 back")
    finally:
        micro.stack.signal("catalog-2", "CONT")
        micro.stack.join("catalog-2")
    assert requests.get(host + "/services/catalog-2", timeout=5).json()["state"] == "running"


def test_an_instance_failing_its_health_check_is_marked_down_and_not_resolved(micro: Micro):
    micro.chaos("catalog-2", down=True)
    wait_for(lambda: micro.registered("catalog") == ["catalog"], timeout=10, what="catalog-2 marked down")
    everyone = {i["instance_id"]: i["status"] for i in micro.get("registry", "/api/services/catalog?status=all").json()}
    assert everyone == {"catalog": "up", "catalog-2": "down"}
    micro.chaos("catalog-2")
    wait_for(lambda: len(micro.registered("catalog")) == 2, timeout=10, what="catalog-2 up again")


def test_the_registry_refuses_what_it_must_not_call(micro: Micro):
    for url in ("http://169.254.169.254", "http://example.com", "file:///etc/passwd"):
        resp = micro.post("registry", "/api/services/evil/instances", json={"instance_id": "x", "url": url})
        assert resp.status_code == 400, (url, resp.text)
        assert resp.json()["error"]["code"] == "VALIDATION_ERROR"
    assert micro.get("registry", "/api/services/evil").status_code == 404


def test_a_forgotten_instance_is_told_to_register_again(micro: Micro):
    resp = requests.put(micro.url("registry") + "/api/services/catalog/instances/catalog-9/heartbeat", timeout=5)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "NOT_REGISTERED"


def test_a_registry_restart_loses_nothing_for_long(micro: Micro):
    """The registry keeps its table in memory (as Eureka): its clients register again on their next beat."""
    micro.stack.restart("registry")
    wait_for(lambda: len(micro.registered("catalog")) == 2 and micro.registered("users") and micro.registered("saga"),
             timeout=15, what="everyone registered again")


def _resolver_calls(micro: Micro, n: int, path: str = "/api/products/ABC") -> list[str]:
    async def go() -> list[str]:
        client = ServiceClient("tests")
        resolver = Resolver(client)
        served = []
        try:
            for _ in range(n):
                resp = await resolver.request("catalog", "GET", path)
                assert resp.status_code == 200, resp.text
                served.append(resp.headers["X-Served-By"])
        finally:
            await client.aclose()
        return served
    return asyncio.run(go())


def test_client_side_discovery_takes_the_copies_in_turn(micro: Micro):
    served = _resolver_calls(micro, 6)
    assert sorted(set(served)) == ["catalog", "catalog-2"]
    assert all(a != b for a, b in zip(served, served[1:])), served  # round robin: never the same twice running


def test_client_side_discovery_fails_over_when_a_copy_stops(micro: Micro):
    micro.stack.isolate("catalog-2")
    try:
        micro.stack.signal("catalog-2", "KILL")  # gone at once: the registry still lists it for a moment
        served = _resolver_calls(micro, 6)
        assert served == ["catalog"] * 6  # every call answered: the dead copy cost a refused connection, no error
    finally:
        wait_for(lambda: requests.get(os.environ["LAB_HOST_URL"] + "/services/catalog-2", timeout=5)
                 .json()["state"] == "running", timeout=20, what="catalog-2 restarted by the host")
        micro.stack.join("catalog-2")
    wait_for(lambda: len(micro.registered("catalog")) == 2, timeout=15, what="catalog-2 registered again")


def test_with_no_copy_up_the_resolver_says_so(micro: Micro):
    micro.chaos("catalog", down=True)
    micro.chaos("catalog-2", down=True)
    wait_for(lambda: micro.registered("catalog") == [], timeout=10, what="both copies down")

    async def go():
        client = ServiceClient("tests")
        try:
            await Resolver(client).request("catalog", "GET", "/api/products/ABC")
        finally:
            await client.aclose()
    with pytest.raises(NoInstance) as caught:
        asyncio.run(go())
    assert caught.value.tried == []


def test_when_the_registry_is_down_clients_fall_back_to_the_declared_addresses(micro: Micro):
    micro.stack.stop("registry")
    try:
        async def go():
            client = ServiceClient("tests")
            resolver = Resolver(client)
            try:
                found = await resolver.instances("catalog")
                return found, resolver.source["catalog"]
            finally:
                await client.aclose()
        found, source = asyncio.run(go())
        assert source == "declared"
        assert [i["url"] for i in found] == [micro.url("catalog"), micro.url("catalog-2")]
        assert micro.get("gateway", "/api/products/ABC").status_code == 200  # the gateway keeps routing
    finally:
        micro.stack.start("registry")
    wait_for(lambda: len(micro.registered("catalog")) == 2, timeout=15, what="registered again")
