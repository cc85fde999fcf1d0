"""ex08 (RabbitMQ) and ex09 (Kafka, and again on Tansu): solutions score full marks, starters zero,
the solution notebooks run top to bottom, and a stopped broker is a sentence, not a traceback."""
from __future__ import annotations

import pytest
from nbclient import NotebookClient

from labkit.check import check
from labkit.grading import notebook
from labkit.procs import free_port
from tests.grading.conftest import solution_path, starter_path
from tests.grading.test_check import namespace_of

POINTS = {"ex08": 18, "ex09": 13}


@pytest.fixture(params=["ex08", "ex09", "ex09-tansu"])
def exercise(request, lab_brokers, monkeypatch):
    """Each exercise against the session's brokers; ex09 once on Apache Kafka and once on Tansu."""
    ex_id, _, on = request.param.partition("-")
    if on == "tansu":
        [tansu] = request.getfixturevalue("tansu_stack").components
        monkeypatch.setenv("LAB_KAFKA_BOOTSTRAP", tansu.address)  # for the checks and the kernel alike
    return ex_id


def test_solution_scores_full_marks(exercise):
    feedback = check(exercise, namespace=namespace_of(solution_path(exercise)))
    assert (feedback.score, feedback.max_score) == (POINTS[exercise], POINTS[exercise]), str(feedback)


def test_starter_scores_zero_and_says_not_implemented(exercise):
    feedback = check(exercise, namespace=namespace_of(starter_path(exercise)))
    assert feedback.score == 0
    for result in feedback.reports[0].results:
        assert not result.passed and "ще не реалізовано" in result.message, result


@pytest.mark.notebook
def test_solution_notebook_runs_top_to_bottom_with_full_marks(exercise):
    path = solution_path(exercise)
    nb = notebook.read(path)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    last = [c for c in nb.cells if c.cell_type == "code" and "check(" in c.source][-1]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in last.outputs)
    assert text.startswith(f"{exercise} · ") and f": {POINTS[exercise]}/{POINTS[exercise]}" in text.splitlines()[0], text


def test_a_stopped_rabbitmq_is_a_sentence_in_every_check(lab_brokers, monkeypatch):
    namespace = namespace_of(solution_path("ex08"))  # cells run while the broker was up
    down = f"amqp://guest:guest@127.0.0.1:{free_port()}"
    monkeypatch.setenv("LAB_AMQP_URL", down)
    feedback = check("ex08", namespace=namespace)
    assert feedback.score == 0
    for result in feedback.reports[0].results:
        assert result.message.startswith(f"RabbitMQ не відповідає за адресою {down}. Запустіть брокери командою `lab up`")
    assert "Traceback" not in str(feedback)


def test_a_stopped_kafka_is_a_sentence_in_every_check(lab_brokers, monkeypatch):
    namespace = namespace_of(solution_path("ex09"))
    down = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("LAB_KAFKA_BOOTSTRAP", down)
    feedback = check("ex09", namespace=namespace)
    assert feedback.score == 0
    for result in feedback.reports[0].results:
        assert result.message.startswith(f"Kafka не відповідає за адресою {down}. Запустіть брокери командою `lab up`")


def test_a_check_run_deletes_the_topics_and_groups_it_made(lab_brokers):
    """Kafka has no virtual hosts: ex09's checks clean up after themselves, in check() and in lab grade alike."""
    import os

    from kafka import KafkaAdminClient

    def names() -> tuple[set, set]:
        admin = KafkaAdminClient(bootstrap_servers=os.environ["LAB_KAFKA_BOOTSTRAP"])
        try:
            return set(admin.list_topics()), {g[0] if isinstance(g, tuple) else g["group_id"] for g in admin.list_groups()}
        finally:
            admin.close()

    namespace = namespace_of(solution_path("ex09"))  # the notebook's own cells make ex09-orders and ex09-analytics
    before = names()
    feedback = check("ex09", namespace=namespace)
    assert feedback.score == POINTS["ex09"], str(feedback)
    assert names() == before
