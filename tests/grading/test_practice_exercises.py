"""ex10 (integration middleware) and ex12 (a Pact contract): full marks for the solutions, zero for the
starters, in the student's kernel (``check()``) and through ``lab grade``, against the real CRM,
warehouse, mailer, mailbox and shop. Their plausible wrong answers are in fixtures/mutants.py.
"""
from __future__ import annotations

import pytest

from labkit.check import check
from tests.grading.conftest import graded_solution_and_starter, solution_path, starter_path
from tests.grading.test_check import namespace_of

POINTS = {"ex10": 22}


@pytest.fixture(scope="module")
def ex10_lab(crm_url, warehouse_url, mailer_url, mailbox_url):
    """notebook 08's systems (tests/grading/conftest.py)."""


def test_ex10_solution_scores_full_marks_in_the_kernel(ex10_lab):
    feedback = check("ex10", namespace=namespace_of(solution_path("ex10")))
    assert (feedback.score, feedback.max_score) == (POINTS["ex10"], POINTS["ex10"]), str(feedback)


def test_ex10_starter_scores_zero_and_says_not_implemented(ex10_lab):
    feedback = check("ex10", namespace=namespace_of(starter_path("ex10")))
    assert feedback.score == 0, str(feedback)
    for result in feedback.reports[0].results:
        assert not result.passed and "ще не реалізовано" in result.message, result


def test_ex10_lab_grade_gives_the_solution_full_marks_and_the_starter_zero(tmp_path):
    rows = graded_solution_and_starter("ex10", tmp_path, timeout=120, step_timeout=30)
    assert (rows["alice"]["ex10"], rows["alice"]["status"]) == (str(POINTS["ex10"]), "ok"), rows["alice"]["notes"]
    assert rows["bob"]["ex10"] == "0", rows["bob"]["notes"]


# --- ex12: a Pact consumer test of a shop client, verified against the real shop and broken ones ---------

POINTS["ex12"] = 16


def test_ex12_solution_scores_full_marks_in_the_kernel(shop_url):
    feedback = check("ex12", namespace=namespace_of(solution_path("ex12")))
    assert (feedback.score, feedback.max_score) == (POINTS["ex12"], POINTS["ex12"]), str(feedback)


def test_ex12_starter_scores_zero_and_says_not_implemented(shop_url):
    feedback = check("ex12", namespace=namespace_of(starter_path("ex12")))
    assert feedback.score == 0, str(feedback)
    for result in feedback.reports[0].results:
        assert not result.passed and "ще не реалізовано" in result.message, result


def test_ex12_lab_grade_runs_pact_in_the_sandbox_full_marks_and_zero(tmp_path):
    rows = graded_solution_and_starter("ex12", tmp_path, timeout=120, step_timeout=30)
    assert (rows["alice"]["ex12"], rows["alice"]["status"]) == (str(POINTS["ex12"]), "ok"), rows["alice"]["notes"]
    assert rows["bob"]["ex12"] == "0", rows["bob"]["notes"]
