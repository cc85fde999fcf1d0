"""ex04 (webhook receiver) and ex05 (resilient client): full marks for the solutions, zero for the starters.

In the student's kernel (``check()``), in a kernel running the whole notebook, and through
``lab grade`` in the sandbox, against real payments and shop services.
"""
from __future__ import annotations

import csv
import shutil
import time

import pytest
from nbclient import NotebookClient

from labkit.check import check
from labkit.grading import batch, notebook
from labkit.grading.sandbox import Limits
from tests.grading.conftest import solution_path, starter_path
from tests.grading.test_check import namespace_of
from tests.payments.conftest import payments_url  # noqa: F401  (the session's payments service)

POINTS = {"ex04": 17, "ex05": 12}
EXERCISES = sorted(POINTS)


@pytest.fixture(scope="module")
def services(shop_url, payments_url):  # noqa: F811
    """The session's shop and payments; the shop's rate limit lifted while this module checks many runs."""
    import requests

    requests.put(f"{shop_url}/admin/rate-limit", json={"limit": 100_000, "window_s": 60}, timeout=10).raise_for_status()
    yield {"shop": shop_url, "payments": payments_url}
    requests.delete(f"{shop_url}/admin/rate-limit", timeout=10)


@pytest.mark.parametrize("ex_id", EXERCISES)
def test_solution_scores_full_marks_in_the_kernel(services, ex_id):
    feedback = check(ex_id, namespace=namespace_of(solution_path(ex_id)))
    assert (feedback.score, feedback.max_score) == (POINTS[ex_id], POINTS[ex_id]), str(feedback)


@pytest.mark.parametrize("ex_id", EXERCISES)
def test_starter_scores_zero_and_says_not_implemented(services, ex_id):
    feedback = check(ex_id, namespace=namespace_of(starter_path(ex_id)))
    assert feedback.score == 0
    for result in feedback.reports[0].results:
        assert not result.passed
        assert "ще не реалізовано" in result.message, result


def test_ex04_receiver_without_dedup_or_time_window_loses_exactly_those_checks(services):
    ns = namespace_of(solution_path("ex04"))
    ns["PROCESSED"] = type("Forgetful", (set,), {"__contains__": lambda self, item: False})()
    lecture_only = ns["verify_webhook"]

    def body_only(headers, payload, secret):  # notebook 03's receiver: the lecture's header, an unsigned time
        fresh = abs(time.time() - int(headers.get("webhook-timestamp") or 0)) <= 300
        return fresh and lecture_only(payload, headers.get("x-webhook-signature", ""), secret)

    feedback = check("ex04", namespace=ns)
    failed = {r.check for r in feedback.reports[0].results if not r.passed}
    assert failed == {"ex04.duplicate"}, str(feedback)
    ns = namespace_of(solution_path("ex04"))
    ns["verify_signature"] = body_only
    results = {r.check: r for r in check("ex04", namespace=ns).reports[0].results}
    assert not results["ex04.stale"].passed and not results["ex04.verify_signature"].passed
    assert results["ex04.valid"].passed and results["ex04.forged"].passed
    assert "retimestamped_replay → 400/401/403" in results["ex04.stale"].expected


def test_ex05_client_without_idempotency_key_makes_two_payments_and_loses_that_check(services):
    ns = namespace_of(solution_path("ex05"))
    ns["uuid"] = type("NoKey", (), {"uuid4": staticmethod(lambda: "")})  # an empty key: requests drops nothing
    source = notebook.code_cells(notebook.read(solution_path("ex05")))
    exec(compile([c for c in source if "def create_payment" in c["source"]][0]["source"].replace(
        'headers={"Idempotency-Key": key}', "headers={}"), "<edited>", "exec"), ns)
    results = {r.check: r for r in check("ex05", namespace=ns).reports[0].results}
    assert not results["ex05.idempotency"].passed and "рівно один платіж" in results["ex05.idempotency"].expected
    assert results["ex05.retry_5xx"].passed and results["ex05.stop"].passed


@pytest.mark.parametrize("ex_id", EXERCISES)
def test_solution_notebook_runs_top_to_bottom_in_a_kernel_with_full_marks(services, ex_id):
    path = solution_path(ex_id)
    nb = notebook.read(path)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    last = [c for c in nb.cells if c.cell_type == "code" and "check(" in c.source][-1]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in last.outputs)
    assert f": {POINTS[ex_id]}/{POINTS[ex_id]}" in text.splitlines()[0], text


def test_lab_grade_gives_solutions_full_marks_and_starters_zero(tmp_path):
    subs = tmp_path / "subs"
    for ex_id in EXERCISES:
        (subs / "alice").mkdir(parents=True, exist_ok=True)
        (subs / "bob").mkdir(parents=True, exist_ok=True)
        shutil.copy(solution_path(ex_id), subs / "alice" / solution_path(ex_id).name)
        shutil.copy(starter_path(ex_id), subs / "bob" / starter_path(ex_id).name)
    batch.grade(subs, tmp_path / "out", limits=Limits(timeout=90, step_timeout=10), workers=2)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    total = sum(POINTS.values())
    assert (rows["alice"]["ex04"], rows["alice"]["ex05"], rows["alice"]["total"]) == ("17", "12", str(total)), \
        rows["alice"]["notes"]
    assert rows["alice"]["status"] == "ok", rows["alice"]["notes"]
    assert (rows["bob"]["ex04"], rows["bob"]["ex05"], rows["bob"]["total"]) == ("0", "0", "0")
