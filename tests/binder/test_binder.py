"""Binder, proven here: the lab set up from its Binder files, launched as an unprivileged user in a 2 GB,
one-CPU cgroup, every notebook run top to bottom (tests/binder/simulation.py says what is simulated how).

Slow (a build and every notebook on one CPU): not part of `make test`; run it with `make test-binder`
(or `bench/bench_binder.py` for the figures alone).
"""
from __future__ import annotations

import pytest

from tests.binder import simulation

pytestmark = pytest.mark.binder


@pytest.fixture(scope="module")
def figures():
    reason = simulation.why_not()
    if reason:
        pytest.skip(f"the Binder simulation cannot run here: {reason}")
    found = simulation.run(print)
    print("\n" + found.report())
    return found


def test_start_hands_over_to_the_server_with_exec(figures):
    assert figures.start_execs


def test_every_component_becomes_healthy_in_the_cgroup(figures):
    assert figures.lab_ready_s is not None


def test_every_notebook_runs_top_to_bottom_within_two_gigabytes(figures):
    failed = {name: nb["error"][-1500:] for name, nb in figures.notebooks.items() if not nb["ok"]}
    assert figures.notebooks and not failed, failed
    assert figures.oom_kills == 0
    assert 0 < figures.peak_bytes <= simulation.MEMORY_LIMIT


def test_docs_and_the_console_open_through_jupyter_server_proxy(figures):
    assert figures.proxy["shop /docs"].startswith("200, loads")
    assert figures.proxy["shop /openapi.json"].startswith("200")
    assert figures.proxy["console /"] == "200, the console page"
    assert figures.proxy["console /api/overview"].startswith("200")
