"""Calls measured and drawn: latency percentiles, traffic in the background, bursts of concurrent callers.

In a notebook (05)::

    from labkit.load import compare_latency, traffic, burst, bursts_chart
    compare_latency({"напряму": lambda: requests.get(a), "через шлюз": lambda: requests.get(b)}, n=40)
    with traffic(lambda: requests.get(b)) as calls:   # calls every 50 ms while the block runs
        restart("catalog")
    calls                                             # a dot per call: who answered, and how
    slow = burst(lambda: requests.post(...), calls=24, every=0.25, gauge=lambda: in_flight("orders"))
    bursts_chart(slow, fast)                          # each call as a bar, and how many were in flight

Each callable makes one call and returns its ``requests.Response``; an exception counts as a
call that got no answer. Drawn as plain SVG, like the other labkit charts.
"""
from __future__ import annotations

import html
import math
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from .traces import PALETTE
from .ukrainian import count

Call = Callable[[], Any]


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0..100): of 40 calls, p50 is the 20th fastest and p99 the slowest."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _outcome(fn: Call) -> tuple[Any, str | None]:
    """(status code or "error", the header that says who answered)."""
    try:
        resp = fn()
    except Exception as exc:  # no answer at all: refused, timed out
        return "error", type(exc).__name__
    headers = getattr(resp, "headers", {}) or {}
    return getattr(resp, "status_code", "?"), headers.get("X-Upstream") or headers.get("X-Served-By")


# --- latency ---------------------------------------------------------------------------------------

class LatencyView:
    """p50 and p99 of each way of making a call, as a table with bars."""

    def __init__(self, samples: dict[str, list[float]], errors: dict[str, int] | None = None) -> None:
        self.samples, self.errors = samples, errors or {}

    def rows(self) -> list[dict]:
        return [{"way": label, "calls": len(ms), "p50_ms": round(percentile(ms, 50), 1),
                 "p99_ms": round(percentile(ms, 99), 1), "errors": self.errors.get(label, 0)}
                for label, ms in self.samples.items()]

    def p50(self, label: str) -> float:
        return percentile(self.samples[label], 50)

    def __repr__(self) -> str:
        return "\n".join(f"{r['way']:<22} p50 {r['p50_ms']:8.1f} ms   p99 {r['p99_ms']:8.1f} ms   "
                         f"({r['calls']} calls, {r['errors']} errors)" for r in self.rows())

    def _repr_html_(self) -> str:
        rows = self.rows()
        peak = max([r["p99_ms"] for r in rows if not math.isnan(r["p99_ms"])] or [1.0]) or 1.0
        body = []
        for i, r in enumerate(rows):
            colour = PALETTE[i % len(PALETTE)]
            w50, w99 = 260 * r["p50_ms"] / peak, 260 * r["p99_ms"] / peak
            bar = (f"<svg width='270' height='16'><rect width='{w99:.1f}' height='14' fill='{colour}' opacity='0.3'/>"
                   f"<rect width='{w50:.1f}' height='14' fill='{colour}'/></svg>")
            right = "<td style='text-align:right'>{}</td>".format
            body.append(f"<tr><td style='text-align:left'><b>{html.escape(r['way'])}</b></td>{right(r['p50_ms'])}"
                        f"{right(r['p99_ms'])}<td>{bar}</td>{right(r['calls'])}{right(r['errors'])}</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("шлях", "p50, мс", "p99, мс", "", "викликів", "помилок"))
        return (f"<table><tr>{head}</tr>{''.join(body)}</table>"
                "<small>темна смуга — p50 (половина викликів швидші), світла — p99</small>")


def compare_latency(calls: dict[str, Call], n: int = 40) -> LatencyView:
    """Make each call ``n`` times, taking turns (so a busy moment slows every way alike); their latencies."""
    samples: dict[str, list[float]] = {label: [] for label in calls}
    errors: Counter = Counter()
    for _ in range(n):
        for label, fn in calls.items():
            started = time.perf_counter()
            status, _who = _outcome(fn)
            samples[label].append((time.perf_counter() - started) * 1000)
            if status == "error" or (isinstance(status, int) and status >= 400):
                errors[label] += 1
    return LatencyView(samples, dict(errors))


# --- calls in the background -----------------------------------------------------------------------

@dataclass
class Sent:
    at_s: float  # since the first call
    took_ms: float
    status: Any  # the status code, or "error" (no answer)
    served_by: str | None  # X-Upstream or X-Served-By


class Traffic:
    """Calls one callable every ``every`` seconds in a thread until stopped; remembers who answered each."""

    def __init__(self, fn: Call, every: float = 0.05) -> None:
        self.fn, self.every = fn, every
        self.calls: list[Sent] = []
        self.marks: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> "Traffic":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "Traffic":
        self._t0 = time.monotonic()
        self.thread.start()
        time.sleep(min(1.0, self.every * 10))  # a few calls before whatever the block does
        return self

    def stop(self) -> "Traffic":
        time.sleep(min(1.0, self.every * 10))  # and a few after
        self._stop.set()
        self.thread.join(timeout=30)
        return self

    def mark(self, label: str) -> None:
        """Note a moment on the chart (``calls.mark("restart")``)."""
        self.marks.append((time.monotonic() - self._t0, label))

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            status, who = _outcome(self.fn)
            self.calls.append(Sent(started - self._t0, (time.monotonic() - started) * 1000, status, who))
            self._stop.wait(self.every)

    def counts(self) -> dict[tuple[Any, str | None], int]:
        """How many calls got each (status, who answered)."""
        return dict(Counter((c.status, c.served_by) for c in self.calls))

    def __repr__(self) -> str:
        return f"{len(self.calls)} calls: " + ", ".join(f"{s} {w or '—'} ×{n}" for (s, w), n in self.counts().items())

    def _repr_html_(self) -> str:
        if not self.calls:
            return "<p>Жодного виклику ще не зроблено.</p>"
        who = list(dict.fromkeys(c.served_by or "—" for c in self.calls))
        colours = {w: PALETTE[i % len(PALETTE)] for i, w in enumerate(who)}
        span = max(c.at_s for c in self.calls) or 1.0
        width, left = 640, 10
        lane = {w: 22 + 18 * i for i, w in enumerate(who)}
        height = 40 + 18 * len(who)
        parts = [f"<svg width='{width + 2 * left}' height='{height}' style='font:12px sans-serif'>"]
        for start, label in self.marks:
            x = left + width * start / span
            parts.append(f"<line x1='{x:.1f}' y1='8' x2='{x:.1f}' y2='{height - 14}' stroke='#888' "
                         f"stroke-dasharray='3,3'/><text x='{x + 3:.1f}' y='12' fill='#555'>"
                         f"{html.escape(label)}</text>")
        for c in self.calls:
            x, y = left + width * c.at_s / span, lane[c.served_by or "—"]
            ok = isinstance(c.status, int) and c.status < 400
            shape = (f"<circle cx='{x:.1f}' cy='{y}' r='4' fill='{colours[c.served_by or '—']}'/>" if ok else
                     f"<text x='{x - 4:.1f}' y='{y + 4}' fill='#d62728' font-weight='bold'>✗</text>")
            parts.append(f"<g><title>+{c.at_s:.2f} с: {c.status}, {html.escape(c.served_by or '—')}, "
                         f"{c.took_ms:.0f} мс</title>{shape}</g>")
        parts.append(f"<text x='{left}' y='{height - 2}' fill='#888'>0 с</text>"
                     f"<text x='{left + width - 40}' y='{height - 2}' fill='#888'>{span:.1f} с</text></svg>")
        legend = " ".join(f"<span style='color:{colours[w]}'>●</span> {html.escape(w)}" for w in who)
        failed = sum(1 for c in self.calls if not (isinstance(c.status, int) and c.status < 400))
        return (f"{''.join(parts)}<div><small>{count(len(self.calls), 'виклик', 'виклики', 'викликів')}, без відповіді або з помилкою: {failed}. "
                f"Хто відповів: {legend} <span style='color:#d62728'>✗</span> помилка</small></div>")


def traffic(fn: Call, every: float = 0.05) -> Traffic:
    """``with traffic(fn) as calls: ...``: call ``fn`` every ``every`` s while the block runs."""
    return Traffic(fn, every)


# --- bursts of concurrent callers ------------------------------------------------------------------

@dataclass
class Caller:
    start_s: float
    end_s: float
    status: Any
    note: str | None  # X-Fallback, when the answer was a fallback


class Burst:
    """``calls`` callers, one every ``every`` seconds, each waiting for its own answer; a gauge sampled meanwhile."""

    def __init__(self, fn: Call, calls: int, every: float, gauge: Callable[[], float] | None, label: str) -> None:
        self.fn, self.n, self.every, self.gauge, self.label = fn, calls, every, gauge, label
        self.callers: list[Caller] = []
        self.samples: list[tuple[float, float]] = []  # (seconds, gauge)

    def run(self) -> "Burst":
        t0 = time.monotonic()
        done = threading.Event()

        def one(n: int) -> Caller:
            time.sleep(max(0.0, t0 + n * self.every - time.monotonic()))
            started = time.monotonic()
            try:
                resp = self.fn()
                status, note = resp.status_code, resp.headers.get("X-Fallback")
            except Exception as exc:
                status, note = "error", type(exc).__name__
            return Caller(started - t0, time.monotonic() - t0, status, note)

        sampler = threading.Thread(target=self._sample, args=(t0, done), daemon=True)
        sampler.start()
        with ThreadPoolExecutor(self.n) as pool:
            self.callers = list(pool.map(one, range(self.n)))
        done.set()
        sampler.join(timeout=10)
        return self

    def _sample(self, t0: float, done: threading.Event) -> None:
        while self.gauge is not None and not done.is_set():
            try:
                self.samples.append((time.monotonic() - t0, float(self.gauge())))
            except Exception:  # the gauge's service did not answer this time: skip the sample
                pass
            done.wait(0.2)

    @property
    def waits(self) -> list[float]:
        """Seconds each caller waited."""
        return [round(c.end_s - c.start_s, 2) for c in self.callers]

    @property
    def peak(self) -> float:
        return max((v for _, v in self.samples), default=0.0)

    def counts(self) -> dict[tuple[Any, str | None], int]:
        return dict(Counter((c.status, c.note) for c in self.callers))

    def __repr__(self) -> str:
        return (f"{self.label}: {self.n} callers, waited p50 {percentile(self.waits, 50):.2f} s, max "
                f"{max(self.waits, default=0):.2f} s, in flight at most {self.peak:.0f}; answers {self.counts()}")


def burst(fn: Call, calls: int = 24, every: float = 0.25, gauge: Callable[[], float] | None = None,
          label: str = "") -> Burst:
    """Start ``calls`` callers ``every`` seconds apart (each in its own thread) and wait for all of them."""
    return Burst(fn, calls, every, gauge, label).run()


class BurstsChart:
    """Bursts drawn on one time scale: a bar per caller (how long it waited) and the gauge (how many in flight)."""

    def __init__(self, bursts: tuple[Burst, ...]) -> None:
        self.bursts = bursts

    def __repr__(self) -> str:
        return "\n".join(repr(b) for b in self.bursts)

    def _repr_html_(self) -> str:
        span = max([c.end_s for b in self.bursts for c in b.callers] + [1.0])
        peak = max([b.peak for b in self.bursts] + [1.0])
        width, left, row = 560, 40, 5
        out = []
        for b in self.bursts:
            height = row * b.n + 80
            parts = [f"<svg width='{width + left + 10}' height='{height}' style='font:12px sans-serif'>"]
            for i, c in enumerate(b.callers):
                x1, x2 = left + width * c.start_s / span, left + width * c.end_s / span
                colour = ("#59a14f" if c.status in (200, 201) else "#d62728" if c.status != 202 else
                          "#edc948" if c.note == "circuit-open" else "#f28e2b")
                parts.append(f"<g><title>+{c.start_s:.2f} с → {c.end_s - c.start_s:.2f} с: {c.status} "
                             f"{html.escape(c.note or '')}</title><rect x='{x1:.1f}' y='{6 + i * row}' "
                             f"width='{max(x2 - x1, 2):.1f}' height='{row - 1}' fill='{colour}'/></g>")
            base = 6 + row * b.n + 60
            if b.samples:
                points = " ".join(f"{left + width * t / span:.1f},{base - 50 * v / peak:.1f}" for t, v in b.samples)
                parts.append(f"<polyline fill='none' stroke='#4e79a7' stroke-width='2' points='{points}'/>"
                             f"<text x='0' y='{base - 44}' fill='#4e79a7'>{peak:.0f}</text>"
                             f"<text x='0' y='{base}' fill='#4e79a7'>0</text>")
            parts.append(f"<line x1='{left}' y1='{base}' x2='{left + width}' y2='{base}' stroke='#ccc'/>"
                         f"<text x='{left + width - 30}' y='{base + 14}' fill='#888'>{span:.0f} с</text></svg>")
            out.append(f"<div><b>{html.escape(b.label)}</b>: чекали p50 {percentile(b.waits, 50):.2f} с, "
                       f"у обробці одночасно до {b.peak:.0f}<br>{''.join(parts)}</div>")
        legend = ("<small>смуга — один клієнт, від запиту до відповіді: <span style='color:#59a14f'>■</span> 201 "
                  "<span style='color:#f28e2b'>■</span> 202 після тайм-аутів "
                  "<span style='color:#edc948'>■</span> 202 одразу (circuit-open) "
                  "<span style='color:#d62728'>■</span> помилка; "
                  "<span style='color:#4e79a7'>—</span> запитів у обробці (gauge)</small>")
        return "".join(out) + legend


def bursts_chart(*bursts: Burst) -> BurstsChart:
    """Draw bursts one above the other on the same time scale, to compare them."""
    return BurstsChart(bursts)
