"""Alert rules as text: check them and unit-test them with ``promtool``, load them into the lab's Prometheus.

    from labkit.monitoring import check_rules, test_rules, load_rules
    check_rules(RULES)                 # promtool check rules: the syntax, the PromQL, duplicates
    test_rules(RULES, TESTS)           # promtool test rules: given these series, these alerts fire
    load_rules("my-alerts", RULES)     # the lab's Prometheus evaluates them from now on

The grader of ex11 uses the same functions. Rules and tests are YAML text (or a dict, written
as JSON, which is YAML too).
"""
from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from .prometheus import LAB_RULES, PrometheusSpec, promtool_binary

RULES_FILE = "rules.yml"
RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
TIMEOUT_S = 30


class PromtoolMissing(RuntimeError):
    """promtool (Debian's prometheus package) is not installed."""


@dataclass
class PromtoolResult:
    """What promtool said: ``ok`` and its output (what failed, and why)."""

    ok: bool
    output: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("✓ " if self.ok else "✗ ") + self.output.strip()

    def _repr_html_(self) -> str:
        import html

        colour = "#1a7f37" if self.ok else "#cf222e"
        return (f"<div style='border-left:4px solid {colour};padding-left:8px'>"
                f"<pre style='margin:0'>{html.escape(self.output.strip())}</pre></div>")


def _text(value: str | dict) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _promtool(args: list[str], cwd: Path) -> PromtoolResult:
    binary = promtool_binary()
    if not binary:
        raise PromtoolMissing("promtool не встановлено: він входить у пакет prometheus (apt-get install prometheus); "
                              "`lab up` встановлює його сам, коли може.")
    try:
        done = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return PromtoolResult(False, f"promtool не завершився за {TIMEOUT_S} с.")
    output = (done.stdout + done.stderr).replace(str(cwd) + "/", "")
    return PromtoolResult(done.returncode == 0, output)


def check_rules(rules: str | dict) -> PromtoolResult:
    """``promtool check rules``: is this a valid rule file (YAML, PromQL, templates, no duplicate rules)?"""
    with tempfile.TemporaryDirectory(prefix="lab-rules-") as folder:
        (Path(folder) / RULES_FILE).write_text(_text(rules), encoding="utf-8")
        return _promtool(["check", "rules", RULES_FILE], Path(folder))


def test_rules(rules: str | dict, tests: str | dict, annotations: bool = True) -> PromtoolResult:
    """``promtool test rules``: run unit ``tests`` against ``rules``.

    ``tests`` is a promtool test file; its ``rule_files`` is set to the rules given here. With
    ``annotations=False`` the rules' annotations are dropped first, so the tests need not repeat
    their text (promtool compares annotations too: an alert's expected ones default to none).
    """
    if isinstance(tests, str):
        tests = yaml.safe_load(tests)
    tests = {**tests, "rule_files": [RULES_FILE]}
    if not annotations:
        rules = without_annotations(rules)
    with tempfile.TemporaryDirectory(prefix="lab-rules-") as folder:
        (Path(folder) / RULES_FILE).write_text(_text(rules), encoding="utf-8")
        (Path(folder) / "tests.yml").write_text(_text(tests), encoding="utf-8")
        return _promtool(["test", "rules", "tests.yml"], Path(folder))


test_rules.__test__ = False  # a library function, not a pytest test


def without_annotations(rules: str | dict) -> dict:
    """The rules with every rule's ``annotations`` removed (a copy)."""
    doc = yaml.safe_load(rules) if isinstance(rules, str) else json.loads(json.dumps(rules))
    if not isinstance(doc, dict):
        raise ValueError("Файл правил має бути словником YAML з ключем groups.")
    for group in doc.get("groups") or []:
        for rule in (group or {}).get("rules") or []:
            if isinstance(rule, dict):
                rule.pop("annotations", None)
    return doc


def load_rules(name: str, rules: str | dict, timeout: float = 15.0, prometheus: PrometheusSpec | None = None) -> list[str]:
    """Load ``rules`` into the lab's Prometheus as ``<name>.yml``; returns the alert names it now evaluates.

    Checked with promtool first, so a broken file never reaches Prometheus. `lab reset` unloads them.
    """
    if not RULE_NAME.match(name) or name + ".yml" == LAB_RULES:
        raise ValueError(f"Назва {name!r} не підходить: малі латинські літери, цифри, '-' і '_', до 40 символів.")
    checked = check_rules(rules)
    if not checked:
        raise ValueError(f"promtool не прийняв правила, тож їх не завантажено:\n{checked.output.strip()}")
    prom = prometheus or PrometheusSpec()
    folder = prom.loaded_rules_folder()
    if folder is None:
        raise RuntimeError(f"Prometheus на {prom.address} запущено не цією лабораторією (або він не відповідає), "
                           "тож завантажити правила звідси не вийде. Запустіть `lab up`.")
    path = folder / f"{name}.yml"
    path.write_text(_text(rules), encoding="utf-8")
    prom.reload()
    deadline = time.monotonic() + timeout
    while True:  # the reload is synchronous, but the groups list may lag one evaluation
        names = _alerts_in(prom, path)
        if names is not None or time.monotonic() > deadline:
            return names or []
        time.sleep(0.2)


def unload_rules(name: str, prometheus: PrometheusSpec | None = None) -> bool:
    """Remove rules loaded with :func:`load_rules`; False when there were none of that name."""
    prom = prometheus or PrometheusSpec()
    folder = prom.loaded_rules_folder()
    path = folder / f"{name}.yml" if folder else None
    if path is None or path.name == LAB_RULES or not path.exists():
        return False
    path.unlink()
    prom.reload()
    return True


def _alerts_in(prom: PrometheusSpec, path: Path) -> list[str] | None:
    groups = requests.get(prom.address + "/api/v1/rules", timeout=5).json()["data"]["groups"]
    mine = [g for g in groups if Path(g.get("file", "")) == path]
    if not mine:
        return None
    return [r["name"] for g in mine for r in g["rules"] if r.get("type") == "alerting"]
