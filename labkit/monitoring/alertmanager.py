"""Alertmanager as a lab component: Debian's ``prometheus-alertmanager``, private, on loopback.

`lab up` runs it with its config and silences under ``$LAB_HOME/alertmanager/``
(``LAB_ALERTMANAGER_URL``, default port 9093; clustering off, so it opens no other port).
It sends every alert Prometheus fires, and its resolution, as a webhook to the
inspector's alerts bin (``labservices.inspector.ALERTS_BIN``): students see an alert
arrive exactly as any other webhook does, headers and JSON body included. Groups are
sent after 1 s and updated every 5 s, so a notebook sees them quickly.

With ``LAB_ALERTMANAGER_URL`` pointing elsewhere it is only checked.
"""
from __future__ import annotations

import json
from pathlib import Path

import requests

from .. import config
from .server import Say, ServerSpec, find

# Debian and Ubuntu name it prometheus-alertmanager; upstream's tarball and conda name it alertmanager.
BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str | None:
    return find("LAB_ALERTMANAGER_BINARY", *BINARY_NAMES)


def alerts_webhook_url(inspector_url: str | None = None) -> str:
    """Where Alertmanager delivers: the inspector's alerts bin."""
    from labservices.inspector import ALERTS_BIN  # not at the top: lab grade's sandbox has no labservices.inspector

    return f"{(inspector_url or config.url('inspector')).rstrip('/')}/b/{ALERTS_BIN}"


def alertmanager_config(webhook_url: str, written_by: str = "`lab up` at every start") -> str:
    body = {
        "route": {
            "receiver": "inspector",
            "group_by": ["alertname", "job"],
            "group_wait": "1s",  # production: 30s (wait for more alerts of the group)
            "group_interval": "5s",  # production: 5m
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "inspector", "webhook_configs": [
            {"url": webhook_url, "send_resolved": True, "max_alerts": 0}]}],
    }
    return (f"# Written by {written_by}; edit labkit/monitoring/alertmanager.py instead.\n"
            "# Every alert (and its resolution) goes as a webhook to the inspector's alerts bin.\n"
            + json.dumps(body, indent=2) + "\n")


class AlertmanagerSpec(ServerSpec):
    """The lab's Alertmanager."""

    name = "alertmanager"
    address_env = "LAB_ALERTMANAGER_URL"
    binary_env = "LAB_ALERTMANAGER_BINARY"
    binary_names = BINARY_NAMES
    teaches = "alerting: groups Prometheus's alerts and sends them as webhooks to the inspector's alerts bin"
    notebooks = "08; ex11"
    readme_ports = "9093"
    readme = ("Alertmanager, the real server: groups the alerts Prometheus fires and delivers each one (and its "
              "resolution) as a webhook to the inspector's `alertmanager` bin, where it can be read like any other "
              "webhook. Address: `LAB_ALERTMANAGER_URL`")
    about = "Alertmanager: алерти приходять вебхуками в інспектор"

    @property
    def address(self) -> str:
        return self._address or config.alertmanager_url()

    def prepare(self, home: Path, say: Say) -> None:
        binary = self.binary(home, say)
        folder = self.folder(home).resolve()
        (folder / "data").mkdir(parents=True, exist_ok=True)
        webhook = alerts_webhook_url()
        (folder / "alertmanager.yml").write_text(alertmanager_config(webhook))
        self.start_with(home, [
            binary, f"--config.file={folder / 'alertmanager.yml'}", f"--storage.path={folder / 'data'}",
            f"--web.listen-address={self.host}:{self.port}", f"--web.external-url={self.address}",
            "--cluster.listen-address=", "--log.level=warn",
        ])
        say(f"alertmanager: on {self.port}, alerts go to {webhook}")

    def _status(self) -> dict | None:
        try:
            resp = requests.get(self.address + "/api/v2/status", timeout=1)
            body = resp.json() if resp.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None
        return body if isinstance(body, dict) and "versionInfo" in body else None

    def identify(self) -> str | None:
        return self.name if self._status() else None

    def describe(self) -> dict[str, str]:
        details = {"url": self.address, "webhook": alerts_webhook_url()}
        status = self._status()
        if status:
            details["implementation"] = f"Alertmanager {status['versionInfo'].get('version', '?')}"
        return details

    def reset(self) -> None:
        """Nothing to restore: alerts come and go with Prometheus's rules; silences expire by themselves."""
