"""Charts of PromQL range queries in a notebook, drawn as plain SVG.

    from labkit.monitoring import plot
    plot('sum by (job) (rate(http_requests_total[30s]))', minutes=5, title="Запити за секунду")
    plot('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="shop"}[30s])))',
         unit="s", threshold=0.5)

Why no plotting library: the lecture needs line charts of a few series over minutes, and every
kernel on Binder pays for what it imports (matplotlib with numpy is ~40 MB more per kernel and a
second to import; plotly and altair need their JavaScript in the page and draw nothing in a
stored notebook). An inline SVG costs nothing, is kept in the notebook's output as it is, and
renders the same in JupyterLab, in nbclient's executed notebooks and on GitHub. The sparkline of
``labkit.brokers.watch_queues`` is drawn the same way.
"""
from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass

from .promql import Series, query_range

PALETTE = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#e16f24", "#6e7781"]
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 26, 26


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts ``span`` into about ``ticks`` parts."""
    raw = span / ticks if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def fmt(value: float, unit: str = "") -> str:
    """A tick or value label: seconds as ms under one second, shares as percent, else short numbers."""
    if unit == "s" and abs(value) < 1 and value != 0:
        return f"{value * 1000:.0f} ms"
    if unit == "%":
        return f"{value * 100:.0f} %"
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}".replace(",", " ")
    return f"{text} {unit}".strip() if unit else text


def short_names(series: list[Series]) -> list[str]:
    """Each series named by the labels that tell it from the others (all of them if there is one)."""
    if len(series) == 1:
        return [series[0].name]
    keys = {k for s in series for k in s.labels}
    varying = sorted(k for k in keys if len({s.labels.get(k) for s in series}) > 1)
    return [", ".join(f"{k}={s.labels.get(k, '')}" for k in varying) or s.name for s in series]


@dataclass
class Chart:
    """Series over time, drawn as an SVG line chart with a time axis, a value axis and a legend."""

    series: list[Series]
    title: str = ""
    unit: str = ""
    threshold: float | None = None
    expr: str = ""

    def _bounds(self) -> tuple[float, float, float, float]:
        points = [(t, v) for s in self.series for t, v in s.points if math.isfinite(v)]
        times = [t for s in self.series for t, _ in s.points] or [time.time() - 300, time.time()]
        values = [v for _, v in points] + ([self.threshold] if self.threshold is not None else [])
        low, high = min([0.0, *values]), max([0.0, *values])
        if high == low:
            high = low + 1
        step = nice_step(high - low)
        return min(times), max(max(times), min(times) + 1), math.floor(low / step) * step, math.ceil(high / step) * step

    def svg(self) -> str:
        t0, t1, y0, y1 = self._bounds()
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        x = lambda t: LEFT + (t - t0) / (t1 - t0) * plot_w  # noqa: E731
        y = lambda v: TOP + (1 - (v - y0) / (y1 - y0)) * plot_h  # noqa: E731
        parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
                 f"viewBox='0 0 {WIDTH} {HEIGHT}' style='font:11px sans-serif;background:#fff'>"]
        if self.title:
            parts.append(f"<text x='{LEFT}' y='15' style='font-weight:bold;font-size:12px'>{html.escape(self.title)}</text>")
        step = nice_step(y1 - y0)
        tick = y0
        while tick <= y1 + step / 1000:
            parts.append(f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y(tick):.1f}' y2='{y(tick):.1f}' stroke='#eaeef2'/>"
                         f"<text x='{LEFT - 6}' y='{y(tick) + 4:.1f}' text-anchor='end' fill='#57606a'>"
                         f"{html.escape(fmt(tick, self.unit))}</text>")
            tick += step
        for i in range(5):
            t = t0 + (t1 - t0) * i / 4
            anchor = "start" if i == 0 else "end" if i == 4 else "middle"
            parts.append(f"<text x='{x(t):.1f}' y='{HEIGHT - 8}' text-anchor='{anchor}' fill='#57606a'>"
                         f"{time.strftime('%H:%M:%S', time.localtime(t))}</text>")
        parts.append(f"<line x1='{LEFT}' x2='{LEFT}' y1='{TOP}' y2='{TOP + plot_h}' stroke='#8c959f'/>"
                     f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{TOP + plot_h}' y2='{TOP + plot_h}' stroke='#8c959f'/>")
        if self.threshold is not None:
            ty = y(self.threshold)
            parts.append(f"<line class='threshold' x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{ty:.1f}' y2='{ty:.1f}' "
                         f"stroke='#cf222e' stroke-dasharray='5,4'/>"
                         f"<text x='{WIDTH - RIGHT}' y='{ty - 4:.1f}' text-anchor='end' fill='#cf222e'>"
                         f"поріг {html.escape(fmt(self.threshold, self.unit))}</text>")
        for i, s in enumerate(self.series):
            colour = PALETTE[i % len(PALETTE)]
            for segment in _segments(s.points):
                if len(segment) == 1:
                    (t, v), = segment
                    parts.append(f"<circle cx='{x(t):.1f}' cy='{y(v):.1f}' r='2' fill='{colour}'/>")
                else:
                    points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in segment)
                    parts.append(f"<polyline class='series' fill='none' stroke='{colour}' stroke-width='1.8' "
                                 f"points='{points}'/>")
        if not self.series:
            parts.append(f"<text x='{LEFT + plot_w / 2}' y='{TOP + plot_h / 2}' text-anchor='middle' fill='#57606a'>"
                         "немає даних за цей час</text>")
        parts.append("</svg>")
        return "".join(parts)

    def legend(self) -> str:
        items = []
        for i, (s, name) in enumerate(zip(self.series, short_names(self.series))):
            last = next((v for _, v in reversed(s.points) if math.isfinite(v)), None)
            now = f" — зараз {html.escape(fmt(last, self.unit))}" if last is not None else ""
            items.append(f"<span style='margin-right:14px;white-space:nowrap'>"
                         f"<span style='color:{PALETTE[i % len(PALETTE)]}'>■</span> <code>{html.escape(name)}</code>{now}</span>")
        return f"<div style='font-size:90%;max-width:{WIDTH}px'>{''.join(items)}</div>"

    def _repr_html_(self) -> str:
        query = f"<div style='color:#57606a;font-size:85%'><code>{html.escape(self.expr)}</code></div>" if self.expr else ""
        return f"<div>{self.svg()}{self.legend()}{query}</div>"

    def __repr__(self) -> str:
        lines = [self.title or self.expr or "chart"]
        for s, name in zip(self.series, short_names(self.series)):
            finite = [v for v in s.values if math.isfinite(v)]
            lines.append(f"  {name}: {len(s.points)} points, last {fmt(finite[-1], self.unit) if finite else '-'}")
        return "\n".join(lines) if self.series else lines[0] + ": no data"


def _segments(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Runs of finite values: a NaN (a failed scrape, 0/0) breaks the line instead of dropping to zero."""
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if math.isfinite(v):
            runs[-1].append((t, v))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def plot(expr: str, minutes: float = 5.0, step: float | None = None, title: str = "", unit: str = "",
         threshold: float | None = None, base: str | None = None) -> Chart:
    """Run ``expr`` as a range query over the last ``minutes`` and draw it (``unit``: "s", "%" or any word)."""
    return Chart(query_range(expr, minutes=minutes, step=step, base=base), title=title, unit=unit,
                 threshold=threshold, expr=expr)
