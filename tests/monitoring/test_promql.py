"""PromQL from a notebook, the SVG chart of a range query, and rules loaded into the lab's Prometheus."""
from __future__ import annotations

import math
import os
import re
import time

import nbformat
import pytest
import requests
from nbclient import NotebookClient

from labkit.monitoring import (Chart, PrometheusUnavailable, Series, alerts, load_rules, plot, query, query_range,
                               unload_rules, value, wait_for_alert)
from labkit.monitoring.chart import fmt, nice_step, short_names
from labkit.procs import free_port, wait_until


def scraped(expr: str, timeout: float = 20) -> None:
    assert wait_until(lambda: bool(query(expr)), timeout=timeout, interval=0.5), f"no series for {expr}"


def test_query_gives_each_series_with_its_labels_and_value(monitored):
    scraped('up{job="toy"}')
    [sample] = query('up{job="toy"}')
    assert sample.value == 1.0 and sample.labels["job"] == "toy" and sample.labels["__name__"] == "up"
    assert abs(sample.at - time.time()) < 30
    assert repr(sample) == f'up{{instance="{sample.labels["instance"]}", job="toy"}} = 1'


def test_value_is_the_one_number_and_default_when_there_is_none(monitored):
    scraped('up{job="toy"}')
    assert value('sum(up{job="toy"})') == 1.0
    assert value('up{job="nobody"}', default=-1) == -1
    with pytest.raises(PrometheusUnavailable, match="агрегуйте"):
        value("up")  # one series per job


def test_a_service_request_shows_up_as_a_series_after_a_scrape(monitored):
    toy = os.environ["LAB_TOY_URL"]
    for _ in range(3):
        requests.get(toy + "/api/conflict", timeout=5)
    scraped('http_requests_total{job="toy", route="/api/conflict", status="409"} >= 3')


def test_query_range_gives_points_over_time(monitored):
    scraped('up{job="toy"}')
    time.sleep(6)  # at least two scrapes
    [series] = query_range('up{job="toy"}', minutes=1, step=1)
    assert isinstance(series, Series) and series.labels["job"] == "toy"
    assert len(series.points) >= 5 and set(series.values) == {1.0}
    times = [t for t, _ in series.points]
    assert times == sorted(times) and times[1] - times[0] == 1


def test_a_bad_expression_is_a_sentence_not_a_traceback(monitored):
    with pytest.raises(PrometheusUnavailable, match="Prometheus відхилив запит.*Перевірте вираз PromQL"):
        query("rate(up[")
    with pytest.raises(PrometheusUnavailable, match="query_range"):
        query("up[1m]")


def test_a_stopped_prometheus_says_to_run_lab_up():
    with pytest.raises(PrometheusUnavailable, match="lab up"):
        query("up", base=f"http://127.0.0.1:{free_port()}")


def test_alerts_lists_what_prometheus_holds(monitored):
    assert alerts(state="firing") == [a for a in alerts() if a["state"] == "firing"]
    assert wait_for_alert("NoSuchAlert", state="inactive", timeout=1) is None
    with pytest.raises(TimeoutError, match="NoSuchAlert"):
        wait_for_alert("NoSuchAlert", timeout=1)


# --- rules a notebook loads ------------------------------------------------------------------------

STUDENT_RULES = """
groups:
  - name: notebook
    rules:
      - alert: ToyAnswersConflicts
        expr: sum(increase(http_requests_total{job="toy", status="409"}[1m])) > 0
        labels:
          severity: info
"""


def test_load_rules_makes_the_labs_prometheus_evaluate_them_and_unload_removes_them(monitored):
    try:
        assert load_rules("notebook-test", STUDENT_RULES) == ["ToyAnswersConflicts"]
        toy = os.environ["LAB_TOY_URL"]
        for _ in range(3):
            requests.get(toy + "/api/conflict", timeout=5)
        firing = wait_for_alert("ToyAnswersConflicts", timeout=30)
        assert firing["labels"]["severity"] == "info"
    finally:
        assert unload_rules("notebook-test")
    groups = requests.get(os.environ["LAB_PROMETHEUS_URL"] + "/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert [g["name"] for g in groups] == ["integration-lab"]
    assert not unload_rules("notebook-test")


def test_load_rules_refuses_what_promtool_refuses_and_keeps_prometheus_as_it_was(monitored):
    with pytest.raises(ValueError, match="promtool не прийняв"):
        load_rules("broken", "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: up ==\n")
    with pytest.raises(ValueError, match="Назва"):
        load_rules("../escape", STUDENT_RULES)
    assert not any(monitored.home.glob("prometheus/rules/broken.yml"))


def test_lab_reset_unloads_notebook_rules_but_keeps_the_labs(monitored):
    load_rules("to-be-reset", STUDENT_RULES)
    prom = next(c for c in monitored.components if c.name == "prometheus")
    prom.reset()
    files = sorted(p.name for p in (monitored.home / "prometheus" / "rules").iterdir())
    assert files == ["lab.rules.yml"]


# --- the chart -------------------------------------------------------------------------------------


def series(labels: dict, values: list[float], start: float = 1_700_000_000.0) -> Series:
    return Series(labels, [(start + 5 * i, v) for i, v in enumerate(values)])


def test_chart_draws_one_line_per_series_a_threshold_and_a_legend_of_what_differs():
    chart = Chart([series({"job": "shop", "le": "x"}, [0.1, 0.2, 0.7]), series({"job": "payments", "le": "x"}, [0.1, 0.1, 0.1])],
                  title="p95", unit="s", threshold=0.5)
    svg = chart.svg()
    assert svg.count("<polyline class='series'") == 2 and svg.count("class='threshold'") == 1
    assert "поріг 500 ms" in svg and "p95" in svg
    page = chart._repr_html_()
    assert "<code>job=shop</code> — зараз 700 ms" in page and "<code>job=payments</code>" in page


def test_a_gap_breaks_the_line_instead_of_dropping_to_zero():
    chart = Chart([series({"job": "shop"}, [1, 2, math.nan, 3, 4])])
    assert chart.svg().count("<polyline class='series'") == 2


def test_an_empty_chart_says_there_is_no_data():
    assert "немає даних" in Chart([]).svg() and repr(Chart([], title="x")) == "x: no data"


def test_axis_helpers_pick_round_steps_and_readable_units():
    assert [nice_step(s) for s in (1, 7, 0.3, 450)] == [0.5, 2, 0.1, 200]
    assert fmt(0.25, "s") == "250 ms" and fmt(2, "s") == "2 s" and fmt(0.2, "%") == "20 %" and fmt(12345) == "12 345"
    assert short_names([series({"job": "a", "x": "1"}, [1]), series({"job": "b", "x": "1"}, [1])]) == ["job=a", "job=b"]


def test_plot_runs_the_range_query_and_draws_it(monitored):
    scraped('up{job="toy"}')
    chart = plot('sum by (job) (up{job=~"toy|inspector"})', minutes=1, title="up")
    assert sorted(s.labels["job"] for s in chart.series) == ["inspector", "toy"]
    assert chart.svg().count("<polyline class='series'") + chart.svg().count("<circle") >= 2


def test_plot_renders_in_a_notebook_executed_by_nbclient(monitored, tmp_path):
    scraped('up{job="toy"}')
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from labkit.monitoring import plot"),
        nbformat.v4.new_code_cell("plot('up{job=\"toy\"}', minutes=1, title='toy up', threshold=0.5)"),
    ])
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    [output] = nb.cells[1].outputs
    page = output["data"]["text/html"]
    assert page.startswith("<div><svg") and "toy up" in page and "class='threshold'" in page
    assert re.search(r"<polyline class='series'[^>]*points='[\d., ]+'", page)
    assert "toy up" in output["data"]["text/plain"]
