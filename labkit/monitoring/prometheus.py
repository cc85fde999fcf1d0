"""Prometheus as a lab component: Debian's server, a private instance under the lab's state folder.

`lab up` runs ``prometheus`` on loopback (``LAB_PROMETHEUS_URL``, default port 9090) with its
config, rules and data in ``$LAB_HOME/prometheus/`` and a short retention. The config is
written at every start from what the lab runs, so a new service is scraped without edits:

- every declared service (``labservices.common.declaration``), each copy at its ``LAB_<NAME>_URL``,
  one job per copy (``up{job="shop"}``, ``up{job="catalog-2"}``);
- the service host's own ``/metrics`` (``LAB_HOST_URL``): its memory and event-loop lag;
- RabbitMQ's Prometheus plugin: the totals, and per queue ``rabbitmq_detailed_queue_*``;
- Prometheus and Alertmanager themselves.

Rules: ``rules/lab.rules.yml`` (the lecture's four alerts, from ``labkit/monitoring/rules/``)
and whatever a notebook loads with :func:`load_rules`. Alerts go to the lab's Alertmanager.

With ``LAB_PROMETHEUS_URL`` pointing elsewhere (compose, another host) it is only checked.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from labservices.common.declaration import instances

from .. import config
from ..brokers.spec import broker_error
from .server import Say, ServerSpec, find

RULES = Path(__file__).resolve().parent / "rules"
LAB_RULES = "lab.rules.yml"
SCRAPE_INTERVAL = "5s"  # short, so that a notebook sees a change within seconds
RETENTION = "2h"  # a class's worth of history; keeps the head block (and memory) small
# RabbitMQ's per-queue figures (depth, unacked, consumers): its /metrics gives only totals.
RABBITMQ_QUEUE_FAMILIES = ["queue_coarse_metrics", "queue_consumer_count"]


def prometheus_binary() -> str | None:
    return find("LAB_PROMETHEUS_BINARY", "prometheus")


def promtool_binary() -> str | None:
    return find("LAB_PROMTOOL_BINARY", "promtool")


# --- what to scrape --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One scrape job: a name, a base URL, the path of its metrics and query parameters."""

    job: str
    url: str
    metrics_path: str = "/metrics"
    params: dict[str, list[str]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

    def scrape_config(self) -> dict:
        job = {"job_name": self.job, "metrics_path": self.metrics_path,
               "scheme": urlsplit(self.url).scheme or "http", "static_configs": [{"targets": [self.address]}]}
        if self.params:
            job["params"] = self.params
        return job


def targets(prometheus: str | None = None) -> list[Target]:
    """Everything the lab's Prometheus scrapes, from the declarations and the addresses in force now."""
    found = [
        Target("prometheus", prometheus or config.prometheus_url()),
        Target("alertmanager", config.alertmanager_url()),
        Target("host", config.host_url()),
        Target("rabbitmq", config.rabbitmq_prometheus_url()),
        Target("rabbitmq-queues", config.rabbitmq_prometheus_url(), "/metrics/detailed",
               {"family": RABBITMQ_QUEUE_FAMILIES}),
    ]
    found += [Target(c.name, c.url) for c in instances()]  # every copy of every service
    return found


def prometheus_config(scrape: list[Target], alertmanager: str, interval: str = SCRAPE_INTERVAL,
                      rule_files: list[str] | None = None, written_by: str = "`lab up` at every start") -> str:
    """The config file's text: JSON, which is YAML too, behind a comment saying where it comes from.

    ``interval`` is whole seconds ("5s"); a scrape may take at most 4 s of it.
    """
    body = {
        "global": {"scrape_interval": interval, "scrape_timeout": f"{min(4, int(interval.rstrip('s')))}s",
                   "evaluation_interval": interval},
        "rule_files": rule_files or ["rules/*.yml"],
        "alerting": {"alertmanagers": [{"scheme": urlsplit(alertmanager).scheme or "http",
                                        "static_configs": [{"targets": [Target("", alertmanager).address]}]}]},
        "scrape_configs": [t.scrape_config() for t in scrape],
    }
    return (f"# Written by {written_by} from the service declarations and the lab's addresses;\n"
            "# edit labkit/monitoring/prometheus.py instead. JSON is YAML, so Prometheus reads it as it is.\n"
            + json.dumps(body, indent=2) + "\n")


# --- the component ---------------------------------------------------------------------------------


class PrometheusSpec(ServerSpec):
    """The lab's Prometheus."""

    name = "prometheus"
    address_env = "LAB_PROMETHEUS_URL"
    binary_env = "LAB_PROMETHEUS_BINARY"
    binary_names = ("prometheus",)
    teaches = "monitoring: scrapes every service's /metrics, RabbitMQ and the host; evaluates the lecture's alerts"
    notebooks = "08; ex11"
    readme_ports = "9090"
    readme = ("Prometheus, the real server: scrapes every lab service's `/metrics`, RabbitMQ's Prometheus plugin and "
              "the service host (the scrape config is derived from the declarations), keeps 2 h of series, evaluates "
              "the lecture's four alerts (rate limit exceeded, queue overflowing, high error rate, slow responses) "
              "and sends them to Alertmanager. Address: `LAB_PROMETHEUS_URL`")
    about = "Prometheus: метрики всіх сервісів, PromQL, правила алертів"

    @property
    def address(self) -> str:
        return self._address or config.prometheus_url()

    def prepare(self, home: Path, say: Say) -> None:
        """Install Prometheus if missing, then write its config, rules and start script under ``home/prometheus``."""
        binary = self.binary(home, say)
        folder = self.folder(home).resolve()
        rules = folder / "rules"
        rules.mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(exist_ok=True)
        shutil.copyfile(RULES / LAB_RULES, rules / LAB_RULES)  # the repository's rules, fresh at every start
        scrape = targets(self.address)
        (folder / "prometheus.yml").write_text(prometheus_config(scrape, config.alertmanager_url()))
        self.start_with(home, [
            binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}", f"--web.listen-address={self.host}:{self.port}",
            f"--web.external-url={self.address}", "--web.enable-lifecycle", "--log.level=warn",
        ])
        say(f"prometheus: on {self.port}, scraping {len(scrape)} jobs every {SCRAPE_INTERVAL}, "
            f"{RETENTION} of data in {folder}")

    def identify(self) -> str | None:
        return self.name if self._build_info() else None

    def _build_info(self) -> dict | None:
        try:
            resp = requests.get(self.address + "/api/v1/status/buildinfo", timeout=1)
            data = resp.json().get("data") if resp.status_code == 200 else None
        except (requests.RequestException, ValueError, AttributeError):
            return None
        return data if isinstance(data, dict) and "version" in data else None

    def describe(self) -> dict[str, str]:
        details = {"url": self.address}
        info = self._build_info()
        if info:
            details["implementation"] = f"Prometheus {info['version']}"
        return details

    def reset(self) -> None:
        """Unload the rules notebooks loaded (the lab's own stay); the series stay, as history."""
        folder = self.loaded_rules_folder()
        removed = [p for p in folder.glob("*.yml") if p.name != LAB_RULES] if folder else []
        for path in removed:
            path.unlink()
        if removed:
            self.reload()

    def loaded_rules_folder(self) -> Path | None:
        """The folder this Prometheus reads rule files from, as it reports it; None when that is not here."""
        try:
            groups = requests.get(self.address + "/api/v1/rules", timeout=5).json()["data"]["groups"]
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return None
        for group in groups:
            path = Path(group.get("file", ""))
            if path.name == LAB_RULES and path.parent.is_dir():
                return path.parent
        return None

    def reload(self) -> None:
        """Make Prometheus read its config and rule files again."""
        resp = requests.post(self.address + "/-/reload", timeout=30)
        if resp.status_code != 200:
            raise broker_error(f"prometheus refused to reload its rules (HTTP {resp.status_code}): {resp.text[:300]}")
