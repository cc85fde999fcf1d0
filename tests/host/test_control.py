"""The control API answers `lab`'s calls with the lecture's envelope on every refusal."""
from __future__ import annotations

import os

import requests


def test_control_api_lists_states_and_refuses_with_the_envelope(pair_host):
    base = os.environ["LAB_HOST_URL"]
    states = {s["name"]: s for s in requests.get(base + "/services").json()}
    assert states["toy"]["state"] == "running" and states["toy"]["mode"] == "host"
    unknown = requests.post(base + "/services/nope/stop")
    assert unknown.status_code == 404 and "Known services" in unknown.json()["error"]["message"]
    bad = requests.post(base + "/services/toy/signal", json={"signal": "HUP"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    shared = requests.post(base + "/services/toy/signal", json={"signal": "KILL"})
    assert shared.status_code == 409 and "lab isolate toy" in shared.json()["error"]["message"]
    assert requests.get(base + "/memory").json()["host"]["pss_bytes"] > 10 * 2**20


def test_host_metrics_expose_its_memory_and_loop_lag(pair_host):
    text = requests.get(os.environ["LAB_HOST_URL"] + "/metrics").text
    assert "lab_host_pss_bytes" in text and "lab_host_loop_max_lag_seconds" in text


def test_the_services_start_up_objects_are_kept_out_of_full_collections(pair_host):
    gc = requests.get(os.environ["LAB_HOST_URL"] + "/loop").json()["gc"]
    assert gc["frozen_objects"] > 10_000  # two apps' routes, models and modules: a full collection skips them
    assert set(gc["startup"]) == {"full_collections", "max_pause_ms"}  # start-up's collections, kept apart
