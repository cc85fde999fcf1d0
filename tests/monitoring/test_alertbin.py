"""Alerts as they arrive in the inspector: ``watch_alert`` prints an alert's way from Prometheus to the webhook."""
from __future__ import annotations

import os
import re

import pytest
import requests

from labkit.load import traffic
from labkit.monitoring import ALERTS_BIN, last_number, load_rules, unload_rules, watch_alert

# Conflicts on the toy, held for 5 s before firing; a 15 s window, so that it resolves soon after.
HELD_RULES = """
groups:
  - name: watched
    rules:
      - alert: ToyConflictsHeld
        expr: sum(increase(http_requests_total{job="toy", status="409"}[15s])) > 0
        for: 5s
        labels:
          severity: info
        annotations:
          summary: "toy answers 409"
"""


def test_watch_alert_prints_pending_firing_and_the_webhook_then_the_resolution(monitored, capsys):
    toy = os.environ["LAB_TOY_URL"]
    since = last_number()
    try:
        load_rules("watched", HELD_RULES)
        with traffic(lambda: requests.get(toy + "/api/conflict", timeout=5), every=0.5):
            fired = watch_alert("ToyConflictsHeld", since=since, timeout=60, every=5)
        assert fired.status == "firing" and fired.number > since and fired.labels["severity"] == "info"
        lines = capsys.readouterr().out.splitlines()
        assert any(re.match(r"\s*\d+ с  Prometheus: ToyConflictsHeld pending \(значення [\d.]+\)", line) for line in lines)
        assert any("Prometheus: ToyConflictsHeld firing" in line for line in lines)
        assert lines[-1].endswith(f"вебхук #{fired.number} від Alertmanager — firing ToyConflictsHeld")

        resolved = watch_alert("ToyConflictsHeld", "resolved", since=fired.number, timeout=60, every=5)
        assert resolved.number > fired.number
        assert "Prometheus: ToyConflictsHeld inactive" in capsys.readouterr().out
    finally:
        unload_rules("watched")
    raw = requests.get(f"{os.environ['LAB_INSPECTOR_URL']}/api/bins/{ALERTS_BIN}/requests/{resolved.number}",
                       timeout=5).json()
    assert raw["json"]["status"] == "resolved"


def test_watch_alert_says_what_prometheus_shows_when_nothing_arrives_in_time(monitored, capsys):
    with pytest.raises(TimeoutError, match=r"NoSuchAlert \(firing\) не надійшов в інспектор за 2 с \(Prometheus: inactive\)"):
        watch_alert("NoSuchAlert", since=last_number(), timeout=2, every=1)
    assert "Prometheus: NoSuchAlert inactive" in capsys.readouterr().out
