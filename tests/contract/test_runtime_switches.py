"""What happens to switches set at run time when a service restarts: what /docs and the README say.

Chaos (every service), the shop's rate limit, the payments service's delivery settings live in
memory: a restart brings back the settings the service was started with. Each service says so in
its /docs; this checks both the words and the behaviour, for every declared service.
"""
from __future__ import annotations

import os

import pytest
import requests

from labkit.procs import http_ok, wait_until

from .documents import openapi_documents

CHAOS = {"latency_ms": 1, "jitter_ms": 0, "error_rate": 0.0, "error_status": 503, "down": False}


def restart(name: str, url: str) -> None:
    resp = requests.post(f"{os.environ['LAB_HOST_URL']}/services/{name}/restart", timeout=60)
    assert resp.status_code == 200, resp.text
    assert wait_until(lambda: http_ok(url + "/health"), timeout=30)


@pytest.mark.parametrize("service", list(openapi_documents()))
def test_docs_say_run_time_switches_are_in_memory(service):
    assert "Run-time switches live in memory" in openapi_documents()[service]["info"]["description"]


@pytest.mark.parametrize("service", list(openapi_documents()))
def test_chaos_is_off_after_a_restart(contract_lab, service):
    url = contract_lab[service]
    assert requests.put(f"{url}/admin/chaos", json=CHAOS, timeout=10).json()["latency_ms"] == 1
    restart(service, url)
    assert requests.get(f"{url}/admin/chaos", timeout=10).json()["latency_ms"] == 0


def test_the_shops_rate_limit_returns_to_its_setting_after_a_restart(contract_lab):
    url = contract_lab["shop"]
    started_with = requests.get(f"{url}/admin/rate-limit", timeout=10).json()
    assert requests.put(f"{url}/admin/rate-limit", json={"limit": 7, "window_s": 60}, timeout=10).status_code == 200
    restart("shop", url)
    assert requests.get(f"{url}/admin/rate-limit", timeout=10).json() == started_with
