"""The configs `lab up` and `lab generate` write: derived from the declarations, accepted by promtool and amtool."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path


from labkit import derived
from labkit.monitoring.alertmanager import alertmanager_config, alerts_webhook_url
from labkit.monitoring.prometheus import LAB_RULES, RULES, prometheus_config, targets
from labservices.common.declaration import declarations
from labservices.inspector import ALERTS_BIN
from tests.conftest import TOY_PACKAGE


def body(text: str) -> dict:
    return json.loads(text[text.index("{"):])


def test_every_declared_service_is_a_scrape_job_at_its_address(monkeypatch):
    monkeypatch.setenv("LAB_SERVICE_PACKAGES", TOY_PACKAGE)  # a service the monitoring code has never heard of
    monkeypatch.setenv("LAB_TOY_URL", "http://127.0.0.1:18099")
    jobs = {t.job: t for t in targets()}
    assert {s.name for s in declarations()} <= set(jobs) and "toy" in jobs
    assert jobs["toy"].address == "127.0.0.1:18099" and jobs["toy"].metrics_path == "/metrics"
    assert {"host", "rabbitmq", "rabbitmq-queues", "prometheus", "alertmanager"} <= set(jobs)


def test_the_host_and_rabbitmq_are_scraped_where_their_variables_say(monkeypatch):
    monkeypatch.setenv("LAB_HOST_URL", "http://127.0.0.1:18090")
    monkeypatch.setenv("LAB_RABBITMQ_PROMETHEUS_URL", "http://127.0.0.1:25692")
    jobs = {t.job: t for t in targets()}
    assert jobs["host"].address == "127.0.0.1:18090"
    assert jobs["rabbitmq"].address == jobs["rabbitmq-queues"].address == "127.0.0.1:25692"
    assert jobs["rabbitmq-queues"].scrape_config()["params"] == {"family": ["queue_coarse_metrics", "queue_consumer_count"]}


def test_rabbitmq_metrics_default_to_the_amqp_host_and_the_plugins_port(monkeypatch):
    monkeypatch.delenv("LAB_RABBITMQ_PROMETHEUS_URL", raising=False)
    monkeypatch.setenv("LAB_AMQP_URL", "amqp://guest:guest@rabbit.example:5672")
    assert {t.job: t for t in targets()}["rabbitmq"].address == "rabbit.example:15692"


def _promtool_check_config(promtool: str, config_text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "rules").mkdir()
    shutil.copyfile(RULES / LAB_RULES, tmp_path / "rules" / LAB_RULES)
    (tmp_path / "prometheus.yml").write_text(config_text)
    return subprocess.run([promtool, "check", "config", "prometheus.yml"], capture_output=True, text=True, cwd=tmp_path)


def test_the_config_lab_up_writes_is_valid_for_promtool(promtool, tmp_path):
    text = prometheus_config(targets(), "http://127.0.0.1:9093")
    done = _promtool_check_config(promtool, text, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert body(text)["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["127.0.0.1:9093"]}]


def test_the_compose_configs_are_valid_and_name_the_containers(promtool, tmp_path):
    text = derived.compose_prometheus_config()
    done = _promtool_check_config(promtool, text, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = {j["job_name"]: j["static_configs"][0]["targets"][0] for j in body(text)["scrape_configs"]}
    assert jobs["shop"] == "shop:8001" and jobs["rabbitmq"] == "rabbitmq:15692" and "host" not in jobs
    am = derived.compose_alertmanager_config()
    (tmp_path / "alertmanager.yml").write_text(am)
    amtool = shutil.which("amtool")
    if amtool:
        done = subprocess.run([amtool, "check-config", str(tmp_path / "alertmanager.yml")], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    assert body(am)["receivers"][0]["webhook_configs"][0]["url"] == f"http://inspector:8003/b/{ALERTS_BIN}"


def test_alertmanager_sends_every_alert_and_its_resolution_to_the_alerts_bin():
    config = body(alertmanager_config(alerts_webhook_url("http://127.0.0.1:8003")))
    [hook] = config["receivers"][0]["webhook_configs"]
    assert hook == {"url": f"http://127.0.0.1:8003/b/{ALERTS_BIN}", "send_resolved": True, "max_alerts": 0}
    assert config["route"]["receiver"] == "inspector" and config["route"]["group_wait"] == "1s"
