"""The lecture's four alerts as rules: valid for promtool, unit-tested with promtool, and the helpers around it."""
from __future__ import annotations

import json
import subprocess

import pytest

from labkit.monitoring import check_rules, test_rules as run_rule_tests
from labkit.monitoring.prometheus import LAB_RULES, RULES

LAB_TESTS = RULES / "lab.rules.test.yml"


def test_the_lab_rules_pass_promtool_check_rules(promtool):
    done = subprocess.run([promtool, "check", "rules", str(RULES / LAB_RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_the_lab_rules_pass_their_promtool_unit_tests(promtool):
    done = subprocess.run([promtool, "test", "rules", LAB_TESTS.name], capture_output=True, text=True, cwd=RULES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_unit_tests_cover_each_of_the_four_alerts_firing():
    text = LAB_TESTS.read_text()
    for name in ("RateLimitExceeded", "QueueOverflowing", "HighErrorRate", "HighLatency"):
        assert f"alertname: {name}\n        exp_alerts:" in text, f"no test sees {name} fire"


def test_check_rules_accepts_the_lab_rules_and_names_the_error_in_a_broken_file(promtool):
    assert check_rules((RULES / LAB_RULES).read_text())
    broken = check_rules("groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: rate(http_requests_total[30s] > 1\n")
    assert not broken.ok and repr(broken).startswith("✗")
    assert "parse error" in broken.output or "unclosed" in broken.output, broken.output


def test_check_rules_takes_a_dict_too(promtool):
    rules = {"groups": [{"name": "g", "rules": [{"alert": "Up", "expr": "up == 0", "for": "1m",
                                                  "labels": {"severity": "critical"}}]}]}
    result = check_rules(rules)
    assert result.ok and "1 rules found" in result.output


def test_test_rules_passes_a_right_expectation_and_fails_a_wrong_one_saying_what_it_got(promtool):
    rules = {"groups": [{"name": "g", "rules": [{"alert": "TargetDown", "expr": "up == 0", "for": "10s",
                                                  "labels": {"severity": "critical"}}]}]}

    def tests(fires_at: str) -> dict:
        return {"evaluation_interval": "5s", "tests": [{
            "interval": "5s", "input_series": [{"series": 'up{job="shop"}', "values": "0x10"}],
            "alert_rule_test": [{"eval_time": fires_at, "alertname": "TargetDown",
                                 "exp_alerts": [{"exp_labels": {"job": "shop", "severity": "critical"}}]}]}]}

    assert run_rule_tests(rules, tests("10s")).ok
    wrong = run_rule_tests(rules, tests("5s"))  # still pending at 5 s: `for: 10s`
    assert not wrong.ok and "TargetDown" in wrong.output and "got:[]" in wrong.output.replace(" ", "").replace("\n", "")


def test_promtool_output_hides_the_temporary_folder(promtool):
    result = check_rules("groups: [")
    assert not result.ok and "/tmp/" not in result.output and "lab-rules-" not in result.output
