"""labkit.load: latency percentiles, traffic in the background and bursts of callers, with callables of our own."""
from __future__ import annotations

import itertools
import math
import re
import threading
import time
from dataclasses import dataclass, field

from labkit.load import burst, bursts_chart, compare_latency, percentile, traffic


@dataclass
class Answer:
    status_code: int = 200
    headers: dict = field(default_factory=dict)


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(40, 0, -1)]
    assert percentile(values, 50) == 20.0 and percentile(values, 99) == 40.0 and percentile(values, 0) == 1.0
    assert math.isnan(percentile([], 50))


def test_compare_latency_times_each_way_and_counts_its_errors():
    turns: list[str] = []

    def fast():
        turns.append("fast")
        return Answer()

    def slow():
        turns.append("slow")
        time.sleep(0.02)
        return Answer(503)

    def broken():
        turns.append("broken")
        raise ConnectionError("refused")

    view = compare_latency({"fast": fast, "slow": slow, "broken": broken}, n=5)
    rows = {r["way"]: r for r in view.rows()}
    assert turns[:6] == ["fast", "slow", "broken", "fast", "slow", "broken"]  # taking turns
    assert rows["slow"]["p50_ms"] >= 20 > rows["fast"]["p50_ms"] and rows["fast"]["calls"] == 5
    assert (rows["fast"]["errors"], rows["slow"]["errors"], rows["broken"]["errors"]) == (0, 5, 5)
    assert "p99, мс" in view._repr_html_() and "slow" in repr(view)


def test_traffic_records_who_answered_each_call_until_the_block_ends():
    copies = itertools.cycle(["catalog", "catalog-2", None])

    def call():
        who = next(copies)
        if who is None:
            raise ConnectionError("refused")
        return Answer(headers={"X-Served-By": who})

    with traffic(call, every=0.01) as calls:
        calls.mark("restart")
    counted = calls.counts()
    assert set(counted) == {(200, "catalog"), (200, "catalog-2"), ("error", "ConnectionError")}
    assert sum(counted.values()) == len(calls.calls) >= 6
    made = len(calls.calls)
    time.sleep(0.05)
    assert len(calls.calls) == made  # stopped with the block
    drawn = calls._repr_html_()
    assert "restart" in drawn and "catalog-2" in drawn and "✗" in drawn


def test_the_gateway_header_names_the_copy_before_the_services_own():
    with traffic(lambda: Answer(headers={"X-Upstream": "catalog-2", "X-Served-By": "catalog"}), every=0.01) as calls:
        pass
    assert set(calls.counts()) == {(200, "catalog-2")}


def test_a_burst_starts_callers_apart_and_samples_how_many_are_in_flight():
    lock, busy = threading.Lock(), [0]

    def call():
        with lock:
            busy[0] += 1
        time.sleep(0.5)
        with lock:
            busy[0] -= 1
        return Answer(202, {"X-Fallback": "circuit-open"})

    started = time.monotonic()
    slow = burst(call, calls=6, every=0.05, gauge=lambda: busy[0], label="slow")
    assert time.monotonic() - started < 2  # side by side, not one after another
    assert all(c.start_s >= n * 0.05 for n, c in enumerate(slow.callers))  # one every 0.05 s
    assert all(0.45 < w < 1.0 for w in slow.waits) and slow.peak >= 4
    assert slow.counts() == {(202, "circuit-open"): 6}
    fast = burst(lambda: Answer(201), calls=3, every=0.0, label="fast")
    drawn = bursts_chart(slow, fast)._repr_html_()
    assert drawn.count("<svg") == 2 and "#edc948" in drawn and "#59a14f" in drawn  # circuit-open, 201
    widths = [float(w) for w in re.findall(r"width='([\d.]+)' height='4'", drawn)]
    assert max(widths[:6]) > 5 * max(widths[6:])  # one time scale for both: the slow bars are the long ones
