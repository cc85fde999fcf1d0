"""ex11 (monitoring): the solution scores full marks, the starter zero, and each typical mistake loses its checks.

In the student's kernel (``check()``) and through ``lab grade`` in the sandbox, against a real inspector
(the worker's "CRM") and real promtool and Prometheus (a private one per run, ``labkit.monitoring.private``).
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from nbclient import NotebookClient

from labkit.check import check
from labkit.grading import batch, catalog, notebook
from labkit.grading.sandbox import Limits
from tests.conftest import running_service
from tests.grading.conftest import solution_path, starter_path, write
from tests.grading.fixtures.mutants import WHOLE, mutate
from tests.grading.test_check import namespace_of
from tests.monitoring.conftest import needs_prometheus

POINTS = 15
FULL = {c.id: c.points for c in catalog.exercise("ex11").checks}

# The typical mistakes (tests/grading/fixtures/mutants.py): each loses exactly its checks, no more.
MISTAKES = {m.why: m for m in WHOLE if m.check.startswith("ex11.")}


@pytest.fixture(scope="module")
def inspector(tmp_path_factory):
    """The worker's CRM: an inspector with default limits, found through LAB_INSPECTOR_URL as in a kernel."""
    needs_prometheus()
    with running_service("inspector", tmp_path_factory.mktemp("ex11-inspector")) as address:
        yield address


def mistaken(name: str, tmp_path: Path) -> Path:
    nb = notebook.read(solution_path("ex11"))
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell, source in zip(code, mutate(MISTAKES[name], [c["source"] for c in notebook.code_cells(nb)])):
        cell.source = source
    return write(nb, tmp_path / "ex11-monitoring.ipynb")


def test_solution_scores_full_marks_in_the_kernel(inspector):
    feedback = check("ex11", namespace=namespace_of(solution_path("ex11")))
    assert (feedback.score, feedback.max_score) == (POINTS, POINTS), str(feedback)
    assert sum(FULL.values()) == POINTS


def test_starter_scores_zero_and_says_what_is_missing(inspector):
    feedback = check("ex11", namespace=namespace_of(starter_path("ex11")))
    assert feedback.score == 0
    for result in feedback.reports[0].results:
        assert not result.passed
        if result.check == "ex11.metrics":
            assert "немає метрик воркера" in result.message, result
        else:
            assert "ще не реалізовано" in result.message, result


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_mistake_loses_exactly_its_checks(inspector, tmp_path, name):
    feedback = check("ex11", namespace=namespace_of(mistaken(name, tmp_path)))
    failed = {r.check for r in feedback.reports[0].results if not r.passed}
    assert failed == MISTAKES[name].loses, str(feedback)
    assert feedback.score == POINTS - sum(FULL[c] for c in failed)


def test_a_rule_file_promtool_refuses_fails_the_rule_checks_with_its_words(inspector):
    ns = namespace_of(solution_path("ex11"))
    ns["alert_rules"] = lambda: "groups:\n  - name: x\n    rules:\n      - alert: WorkerBacklog\n        expr: worker_queue_depth >\n"
    results = {r.check: r for r in check("ex11", namespace=ns).reports[0].results}
    assert not results["ex11.rules_valid"].passed and "parse error" in results["ex11.rules_valid"].seen
    for name in ("ex11.rule_backlog", "ex11.live_resolves"):
        assert not results[name].passed and "ex11.rules_valid" in results[name].message
    assert results["ex11.counts"].passed and results["ex11.metrics"].passed


def test_solution_notebook_runs_top_to_bottom_in_a_kernel_with_full_marks(inspector):
    path = solution_path("ex11")
    nb = notebook.read(path)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    last = [c for c in nb.cells if c.cell_type == "code" and "check(" in c.source][-1]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in last.outputs)
    assert f": {POINTS}/{POINTS}" in text.splitlines()[0], text
    tested = next(c for c in nb.cells if c.cell_type == "code" and "test_rules(alert_rules()" in c.source)
    assert "✓" in "".join(o.get("data", {}).get("text/plain", "") for o in tested.outputs)


def test_lab_grade_gives_full_marks_zero_and_partial_credit(tmp_path):
    needs_prometheus()
    subs = tmp_path / "subs"
    for student, source in (("alice", solution_path("ex11")), ("bob", starter_path("ex11")),
                            ("carol", mistaken("the mean instead of the 95th percentile", tmp_path))):
        (subs / student).mkdir(parents=True)
        shutil.copy(source, subs / student / "ex11-monitoring.ipynb")
    batch.grade(subs, tmp_path / "out", limits=Limits(timeout=120, step_timeout=15), workers=2)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["alice"]["ex11"] == str(POINTS) and rows["alice"]["status"] == "ok", rows["alice"]["notes"]
    assert rows["bob"]["ex11"] == "0"
    assert rows["carol"]["ex11"] == str(POINTS - 2), rows["carol"]
    assert rows["carol"]["ex11.rule_latency"] == "0" and rows["carol"]["ex11.live_error_rate"] == "1"
