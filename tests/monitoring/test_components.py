"""Prometheus and Alertmanager as lab components: started privately by `lab up`, shown, stopped, or only checked."""
from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from labkit import cli
from labkit.monitoring import AlertmanagerSpec, PrometheusSpec
from labkit.procs import alive, free_port, port_open, wait_until
from labkit.stack import Stack
from labservices.inspector import ALERTS_BIN


def status_of(stack: Stack, name: str):
    return next(s for s in stack.status() if s.name == name)


def targets(base: str) -> dict[str, dict]:
    active = requests.get(base + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    return {t["labels"]["job"]: t for t in active}


def test_status_shows_both_healthy_with_their_memory_and_version(monitored):
    for name, product in (("prometheus", "Prometheus 2."), ("alertmanager", "Alertmanager 0.")):
        status = status_of(monitored, name)
        assert status.kind == "monitor" and status.health == "healthy" and status.managed and status.state == "running"
        assert status.url == os.environ[f"LAB_{name.upper()}_URL"]
        assert status.details["implementation"].startswith(product)
        assert 5 < status.pss_mb < 200, f"{name} takes {status.pss_mb} MB (PSS)"


def test_both_listen_on_loopback_only_with_their_state_under_lab_home(monitored):
    home = monitored.home
    for name in ("prometheus", "alertmanager"):
        run = (home / name / "run").read_text()
        assert "--web.listen-address=127.0.0.1:" in run and str(home) in run
        assert (home / name / "data").is_dir()
    assert "--cluster.listen-address= " in (home / "alertmanager" / "run").read_text()  # no gossip port
    assert any((home / "prometheus" / "data").iterdir())  # its TSDB is there, not in /var/lib


def test_prometheus_scrapes_every_declared_service_the_host_and_itself(monitored):
    base = os.environ["LAB_PROMETHEUS_URL"]
    wanted = {"toy", "inspector", "host", "prometheus", "alertmanager"}

    def all_up() -> bool:  # and the broker's target scraped once (Prometheus says "unknown" until then)
        found = targets(base)
        return (all(found.get(job, {}).get("health") == "up" for job in wanted)
                and found.get("rabbitmq", {}).get("health") not in (None, "unknown"))

    assert wait_until(all_up, timeout=20, interval=0.5), targets(base)
    found = targets(base)
    assert found["toy"]["scrapeUrl"] == os.environ["LAB_TOY_URL"] + "/metrics"  # the tests' own service, undeclared anywhere else
    assert found["host"]["scrapeUrl"] == os.environ["LAB_HOST_URL"] + "/metrics"
    assert found["rabbitmq-queues"]["scrapeUrl"].endswith("/metrics/detailed?family=queue_coarse_metrics"
                                                          "&family=queue_consumer_count")
    assert found["rabbitmq"]["health"] == "down"  # no broker in this stack: shown as down, not left out


def test_prometheus_loads_the_lectures_four_alerts(monitored):
    groups = requests.get(os.environ["LAB_PROMETHEUS_URL"] + "/api/v1/rules", timeout=5).json()["data"]["groups"]
    names = {r["name"] for g in groups for r in g["rules"]}
    assert names == {"RateLimitExceeded", "QueueOverflowing", "HighErrorRate", "HighLatency"}
    assert all(r["health"] == "ok" for g in groups for r in g["rules"])


def test_prometheus_sends_alerts_to_the_labs_alertmanager(monitored):
    base = os.environ["LAB_PROMETHEUS_URL"]

    def connected() -> bool:
        active = requests.get(base + "/api/v1/alertmanagers", timeout=5).json()["data"]["activeAlertmanagers"]
        return [a["url"] for a in active] == [os.environ["LAB_ALERTMANAGER_URL"] + "/api/v2/alerts"]

    assert wait_until(connected, timeout=10, interval=0.5)


def test_alertmanager_delivers_to_the_inspectors_alerts_bin(monitored):
    config = requests.get(os.environ["LAB_ALERTMANAGER_URL"] + "/api/v2/status", timeout=5).json()["config"]["original"]
    assert f"{os.environ['LAB_INSPECTOR_URL']}/b/{ALERTS_BIN}" in config
    assert "send_resolved: true" in config
    assert status_of(monitored, "alertmanager").details["webhook"].endswith(f"/b/{ALERTS_BIN}")


def test_an_alert_posted_to_alertmanager_arrives_in_the_inspector_as_a_webhook(monitored):
    from labkit.monitoring import last_number, wait_for_notification

    since = last_number()
    alert = {"labels": {"alertname": "LabSmokeTest", "job": "toy", "severity": "info"},
             "annotations": {"summary": "перевірка доставки"}}
    resp = requests.post(os.environ["LAB_ALERTMANAGER_URL"] + "/api/v2/alerts", json=[alert], timeout=5)
    assert resp.status_code == 200
    got = wait_for_notification("LabSmokeTest", "firing", since=since, timeout=20)
    assert got.labels == {"job": "toy", "severity": "info"} and got.annotations["summary"] == "перевірка доставки"
    raw = requests.get(f"{os.environ['LAB_INSPECTOR_URL']}/api/bins/{ALERTS_BIN}/requests/{got.number}", timeout=5).json()
    assert raw["method"] == "POST" and raw["headers"]["content-type"] == "application/json"
    assert raw["headers"]["user-agent"].startswith("Alertmanager/")
    assert raw["json"]["version"] == "4" and raw["json"]["status"] == "firing"


def test_lab_status_prints_both_rows(monitored, capsys):
    assert cli.main(["--home", str(monitored.home), "status"]) == 0
    out = capsys.readouterr().out
    for name in ("prometheus", "alertmanager"):
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert "running" in row and "✓ healthy" in row and "MB" in row


class FakeReady(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/-/ready" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_prometheus_elsewhere_is_only_checked_never_started_or_stopped(tmp_path):
    # 127.0.0.2 is this machine too, but not the loopback address `lab up` runs things on: "elsewhere".
    server = ThreadingHTTPServer(("127.0.0.2", 0), FakeReady)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = PrometheusSpec(f"http://127.0.0.2:{server.server_address[1]}")
        stack = Stack(home=tmp_path, components=[spec])
        assert spec.external
        stack.up(timeout=10)
        [status] = stack.status()
        assert status.health == "external" and status.state == "external" and status.pid is None
        assert not (tmp_path / "prometheus").exists()  # nothing prepared, nothing started
        assert stack.down() == []
        assert spec.ready()
    finally:
        server.shutdown()


def test_down_stops_both_and_frees_their_ports(tmp_path, monkeypatch):
    from tests.monitoring.conftest import needs_prometheus

    needs_prometheus()
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    prom = PrometheusSpec(f"http://127.0.0.1:{free_port()}")
    am = AlertmanagerSpec(f"http://127.0.0.1:{free_port()}")
    stack = Stack(home=tmp_path, components=[prom, am])
    stack.up(timeout=60)
    pids = {s.name: s.pid for s in stack.status()}
    assert all(alive(pid) for pid in pids.values())
    assert sorted(stack.down()) == ["alertmanager", "prometheus"]
    assert not any(alive(pid) for pid in pids.values())
    assert not port_open("127.0.0.1", prom.port) and not port_open("127.0.0.1", am.port)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["components"] == {}


def test_restart_rewrites_the_config_and_keeps_the_history(monitored):
    from labkit.monitoring import query_range

    base = os.environ["LAB_PROMETHEUS_URL"]
    assert wait_until(lambda: targets(base).get("toy", {}).get("health") == "up", timeout=20, interval=0.5)
    before = time.time()
    old_pid = status_of(monitored, "prometheus").pid
    status = monitored.restart("prometheus")
    assert status.health == "healthy" and status.pid != old_pid
    [series] = query_range('up{job="toy"}', minutes=2, step=1)
    assert any(t < before for t, _ in series.points)  # the series from before the restart are still there
