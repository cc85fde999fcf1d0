"""ex07 (circuit breaker, discovery, saga compensations): full marks for the solution, zero for the starter.

In the student's kernel (``check()``) and in a kernel running the whole notebook, against the real
catalog (two copies), registry, payments, shipping and carrier.
"""
from __future__ import annotations

import pytest

from labkit.check import check
from tests.grading.conftest import graded_solution_and_starter, last_check_after_running, solution_path, starter_path
from tests.grading.test_check import namespace_of

POINTS = {"ex07": 21}


def test_solution_scores_full_marks_in_the_kernel(micro_services):
    feedback = check("ex07", namespace=namespace_of(solution_path("ex07")))
    assert (feedback.score, feedback.max_score) == (POINTS["ex07"], POINTS["ex07"]), str(feedback)


def test_starter_scores_zero_and_says_not_implemented(micro_services):
    feedback = check("ex07", namespace=namespace_of(starter_path("ex07")))
    assert feedback.score == 0
    for result in feedback.reports[0].results:
        assert not result.passed
        assert "ще не реалізовано" in result.message, result


def test_a_breaker_that_counts_every_exception_loses_only_the_client_error_check(micro_services):
    ns = namespace_of(solution_path("ex07"))
    ns["CircuitBreaker"].__init__.__defaults__ = (5, 60.0, ())  # nothing excluded: a 404 is a failure too
    results = {r.check: r for r in check("ex07", namespace=ns).reports[0].results}
    failed = {name for name, r in results.items() if not r.passed}
    assert failed == {"ex07.client_errors"}, failed


@pytest.mark.slow
def test_solution_notebook_runs_top_to_bottom_in_a_kernel_with_full_marks(micro_services):
    text = last_check_after_running(solution_path("ex07"), timeout=180)
    assert f": {POINTS['ex07']}/{POINTS['ex07']}" in text.splitlines()[0], text


def test_lab_grade_gives_the_solution_full_marks_and_the_starter_zero(tmp_path):
    """In the sandbox, against the grader's own catalog (two copies sharing one database), registry and the rest."""
    rows = graded_solution_and_starter("ex07", tmp_path, timeout=180, step_timeout=20)
    assert (rows["alice"]["ex07"], rows["alice"]["status"]) == (str(POINTS["ex07"]), "ok"), rows["alice"]["notes"]
    assert rows["bob"]["ex07"] == "0"
