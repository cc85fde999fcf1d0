"""Mutation testing of the checks: every plausible wrong answer in fixtures/mutants.py loses its check's points.

Each mutant is the solution with one mistake, run in a kernel-like namespace (as
``check()`` runs it) against the session's live services and brokers; only the check the
mutant names is run, and it must fail. Every check of every course exercise has at
least one mutant (``test_every_check_has_a_mutant``; the count per exercise is printed). The
WHOLE mutants (ex11's) are run by their exercise's own test, all checks at once.
"""
from __future__ import annotations

import ast
from collections import Counter
from dataclasses import replace

import pytest
import requests

from labkit import config
from labkit.grading import catalog, notebook
from labkit.grading.brokers import BrokerSet
from labkit.grading.runner import run_exercise
from labkit.grading.student import KernelStudent
from tests.grading.conftest import MICRO_SERVICES, solution_path
from tests.grading.fixtures.mutants import MUTANTS, WHOLE, Mutant, mutate
from tests.grading.test_check import run_cells
from tests.payments.conftest import payments_url  # noqa: F401  (the session's payments service)

EXERCISES = catalog.course_exercises()


def mutated_cells(mutant: Mutant) -> list[str]:
    ex_id = mutant.check.split(".")[0]
    return mutate(mutant, [c["source"] for c in notebook.code_cells(notebook.read(solution_path(ex_id)))])


def definitions(cells: list[str]) -> list[str]:
    """The cells that define things; a demo cell (one that ends in a value to show) is left out: checks call the
    functions with names of their own, and demo cells only cost time (ex09's consume and replay for seconds)."""
    return ["" if any(isinstance(node, ast.Expr) for node in ast.parse(source).body) else source
            for source in cells]


def test_every_check_has_a_mutant_and_every_mutant_edits_its_solution():
    covered = Counter(c for m in [*MUTANTS, *WHOLE] for c in m.loses)
    missing = [c.id for ex in EXERCISES.values() for c in ex.checks if c.id not in covered]
    assert not missing, f"checks without a plausible wrong answer: {missing}"
    assert set(covered) <= {c.id for ex in EXERCISES.values() for c in ex.checks}
    for mutant in [*MUTANTS, *WHOLE]:
        assert mutated_cells(mutant)  # each edit applies exactly once
    assert not any(m.also for m in MUTANTS), "only a WHOLE mutant's other losses are asserted"
    per_exercise = Counter(m.check.split(".")[0] for m in [*MUTANTS, *WHOLE])
    print("mutants per exercise:", dict(sorted(per_exercise.items())))


@pytest.fixture
def services(request, monkeypatch):
    """What the mutant's exercise talks to, started for the session; the shop's rate limit lifted meanwhile.

    RabbitMQ is a virtual host of the mutant's own (a grading lease): the notebook's demo cells use fixed
    names, and one mutant's exchange of the wrong type would break the next one's cells.
    """
    ex_id = request.node.callspec.params["mutant"].check.split(".")[0]
    exercise = EXERCISES[ex_id]
    if set(exercise.services) & set(MICRO_SERVICES):  # ex07: catalog's two copies, registry and friends in a host
        request.getfixturevalue("micro_services")
    else:
        for name in exercise.services:
            request.getfixturevalue("payments_url" if name == "payments" else f"{name}_url")
    found = {name: config.url(name) for name in exercise.services}
    lease = None
    if exercise.brokers:
        request.getfixturevalue("lab_brokers")
    if "rabbitmq" in exercise.brokers:
        lease = BrokerSet().lease(["rabbitmq"])
        for key, value in lease.env.items():
            monkeypatch.setenv(key, value)
        found.update(lease.services)
    if "shop" in exercise.services:
        requests.put(config.url("shop") + "/admin/rate-limit", json={"limit": 100_000, "window_s": 60}, timeout=10)
    try:
        yield found
    finally:
        if "shop" in exercise.services:
            requests.delete(config.url("shop") + "/admin/rate-limit", timeout=10)
        if lease is not None:
            lease.release()


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.check}-{m.function}")
def test_a_plausible_wrong_answer_loses_the_points_of_its_check(services, mutant):
    ex_id = mutant.check.split(".")[0]
    exercise = EXERCISES[ex_id]
    only = replace(exercise, checks=[c for c in exercise.checks if c.id == mutant.check])
    cells = mutated_cells(mutant)
    for source in cells:
        compile(source, "<mutant>", "exec")  # a broken edit would fail for the wrong reason
    namespace = run_cells(definitions(cells))
    assert mutant.function in namespace
    student = KernelStudent(namespace)
    try:
        [result] = run_exercise(only, student, services).results
    finally:
        student.close()
    assert not result.passed, f"{mutant.check} passed a wrong answer: {mutant.why}"
    assert result.earned == 0 and "ще не означено" not in result.message, result
