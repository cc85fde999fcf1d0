"""A throwaway Prometheus: the lab's own binary with given rules and targets, fast intervals, gone afterwards.

The ex11 checker loads a student's rules into one of these and scrapes the student's worker with
it, so that parallel graders never share rules or series, and a 1 s scrape and evaluation interval
lets an alert fire and resolve within seconds::

    with PrivatePrometheus(rules_text, {"worker": "http://127.0.0.1:8123"}) as prom:
        query("up", base=prom.url)
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..procs import free_port, http_ok, spawn, terminate, wait_until
from .prometheus import Target, prometheus_binary, prometheus_config


class PrometheusMissing(RuntimeError):
    """Prometheus is not installed here; the message says how to get it."""


class PrometheusFailed(RuntimeError):
    """It did not start; the message has the end of its log."""


class PrivatePrometheus:
    """Prometheus on a free loopback port, its config, rules and data in a temporary folder."""

    def __init__(self, rules: str, targets: dict[str, str], interval: str = "1s") -> None:
        self.rules = rules
        self.targets = targets
        self.interval = interval
        self.url = ""
        self.folder: Path | None = None
        self._proc = None

    def start(self, timeout: float = 20.0) -> "PrivatePrometheus":
        binary = prometheus_binary()
        if not binary:
            raise PrometheusMissing("Prometheus не встановлено: `lab up` встановлює його сам (Debian: apt-get install "
                                    "prometheus), або задайте LAB_PROMETHEUS_BINARY.")
        self.folder = Path(tempfile.mkdtemp(prefix="lab-prometheus-"))
        (self.folder / "rules").mkdir()
        (self.folder / "rules" / "rules.yml").write_text(self.rules, encoding="utf-8")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        scrape = [Target(job, url) for job, url in self.targets.items()]
        # Alerts stay in this Prometheus: an address nothing listens on keeps them out of the lab's Alertmanager.
        config = prometheus_config(scrape, f"http://127.0.0.1:{free_port()}", interval=self.interval,
                                   written_by="labkit.monitoring.private")
        (self.folder / "prometheus.yml").write_text(config)
        self._proc = spawn([binary, f"--config.file={self.folder / 'prometheus.yml'}",
                            f"--storage.tsdb.path={self.folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                            "--log.level=error"], log_path=self.folder / "prometheus.log", cwd=self.folder)
        if not wait_until(lambda: http_ok(self.url + "/-/ready"), timeout=timeout, while_alive=self._proc.pid):
            log = (self.folder / "prometheus.log").read_text(errors="replace")[-800:]
            self.stop()
            raise PrometheusFailed(f"Prometheus не запустився: {log.strip() or 'без повідомлення'}.")
        return self

    def stop(self) -> None:
        if self._proc is not None:
            terminate(self._proc.pid)
            try:
                self._proc.wait(timeout=5)
            except Exception:  # noqa: BLE001 - already gone
                pass
            self._proc = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> "PrivatePrometheus":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
