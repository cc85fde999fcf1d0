"""A request's path through the services, drawn as a waterfall (as Jaeger or Zipkin draw it).

Every lab service records OpenTelemetry spans into one SQLite file (``$LAB_HOME/traces.sqlite3``);
every answer carries the trace it belongs to in its ``traceresponse`` header. In a notebook::

    resp = requests.post(url("gateway") + "/api/orders", json=order)
    trace(resp)            # service, operation, start, duration and status of every hop
    recent_traces("orders")   # the latest traces that passed through orders

Spans reach the file a moment after the request (they are written in batches every 0.2 s),
so :func:`trace` waits until the trace stops growing, at most a few seconds.
"""
from __future__ import annotations

import html
import json
import sqlite3
import time
from dataclasses import dataclass, field

from labservices.common.paths import traces_file

from .ukrainian import count

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status: str
    attributes: dict = field(default_factory=dict)
    depth: int = 0

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def trace_id_of(resp_or_id) -> str:
    """The trace id in a response's ``traceresponse`` header, or the id itself."""
    if isinstance(resp_or_id, str):
        value = resp_or_id
    else:
        value = resp_or_id.headers.get("traceresponse", "")
        if not value:
            raise ValueError("This response carries no `traceresponse` header: was it answered by a lab service?")
    parts = value.split("-")
    trace_id = parts[1] if len(parts) == 4 else value
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        raise ValueError(f"{value!r} is not a W3C trace id (32 hex digits) nor a traceresponse value.")
    return trace_id


def _query(sql: str, args: tuple) -> list[tuple]:
    path = traces_file()
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []  # no span written yet: the table does not exist
    finally:
        conn.close()


def spans(trace_id: str) -> list[Span]:
    """Every recorded span of one trace, parents before their children, in start order."""
    rows = _query("SELECT trace_id, span_id, parent_id, service, name, kind, start_ns, end_ns, status, attributes "
                  "FROM spans WHERE trace_id = ? ORDER BY start_ns", (trace_id,))
    found = [Span(*row[:9], attributes=json.loads(row[9] or "{}")) for row in rows]
    return _tree(found)


def _tree(found: list[Span]) -> list[Span]:
    ids = {s.span_id for s in found}
    children: dict[str | None, list[Span]] = {}
    for s in found:
        children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)
    ordered: list[Span] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda x: x.start_ns):
            s.depth = depth
            ordered.append(s)
            walk(s.span_id, depth + 1)

    walk(None, 0)
    return ordered


def trace(resp_or_id, wait_s: float = 3.0) -> "Waterfall":
    """The waterfall of the trace a response (or a trace id) belongs to; waits for late spans."""
    trace_id = trace_id_of(resp_or_id)
    deadline = time.monotonic() + wait_s
    found, stable_since = spans(trace_id), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = spans(trace_id)
        if len(now) != len(found):
            found, stable_since = now, time.monotonic()
        elif found and time.monotonic() - stable_since >= 0.5:
            break
    return Waterfall(trace_id, found)


def recent_traces(service: str | None = None, limit: int = 10) -> list[dict]:
    """The latest traces (newest first): their id, the first operation, the services they crossed."""
    where, args = ("WHERE service = ?", (service,)) if service else ("", ())
    ids = [r[0] for r in _query(f"SELECT trace_id, MAX(start_ns) AS last FROM spans {where} "
                                 "GROUP BY trace_id ORDER BY last DESC LIMIT ?", (*args, limit))]
    out = []
    for trace_id in ids:
        found = spans(trace_id)
        if found:
            out.append({"trace_id": trace_id, "root": f"{found[0].service}: {found[0].name}",
                        "services": sorted({s.service for s in found}), "spans": len(found),
                        "duration_ms": round((max(s.end_ns for s in found) - min(s.start_ns for s in found)) / 1e6, 2)})
    return out


class Waterfall:
    """One trace drawn as rows of bars: service, operation, start and duration, errors in red."""

    def __init__(self, trace_id: str, found: list[Span]) -> None:
        self.trace_id = trace_id
        self.spans = found

    @property
    def services(self) -> list[str]:
        seen: list[str] = []
        for s in self.spans:
            if s.service not in seen:
                seen.append(s.service)
        return seen

    @property
    def duration_ms(self) -> float:
        if not self.spans:
            return 0.0
        return (max(s.end_ns for s in self.spans) - min(s.start_ns for s in self.spans)) / 1e6

    def rows(self) -> list[dict]:
        if not self.spans:
            return []
        t0 = min(s.start_ns for s in self.spans)
        return [{"service": s.service, "operation": s.name, "kind": s.kind, "depth": s.depth,
                 "start_ms": round((s.start_ns - t0) / 1e6, 2), "duration_ms": round(s.duration_ms, 2),
                 "status": s.status} for s in self.spans]

    def __len__(self) -> int:
        return len(self.spans)

    def __repr__(self) -> str:
        if not self.spans:
            return f"Trace {self.trace_id}: no spans recorded (yet)."
        lines = [f"Trace {self.trace_id}: {len(self.spans)} spans, {self.duration_ms:.1f} ms, "
                 f"services: {', '.join(self.services)}"]
        for r in self.rows():
            mark = " ✗" if r["status"] == "error" else ""
            lines.append(f"{'  ' * r['depth']}{r['service']}: {r['operation']}  "
                         f"+{r['start_ms']:.1f} ms, {r['duration_ms']:.1f} ms{mark}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.spans:
            return (f"<p>Трасу <code>{self.trace_id}</code> ще не записано: спробуйте за мить "
                    "(спани записуються пакетами щодесяту частку секунди).</p>")
        total = max(self.duration_ms, 0.001)
        colours = {svc: PALETTE[i % len(PALETTE)] for i, svc in enumerate(self.services)}
        rows = []
        for r in self.rows():
            left, width = r["start_ms"] / total * 100, max(r["duration_ms"] / total * 100, 0.4)
            colour = "#d62728" if r["status"] == "error" else colours[r["service"]]
            rows.append(
                "<tr>"
                f"<td style='padding-left:{r['depth'] * 14 + 4}px;white-space:nowrap'>"
                f"<b style='color:{colours[r['service']]}'>{html.escape(r['service'])}</b></td>"
                f"<td style='white-space:nowrap'>{html.escape(r['operation'])}</td>"
                f"<td style='width:55%'><div style='position:relative;height:14px;background:#f3f3f3'>"
                f"<div title='{r['duration_ms']} ms' style='position:absolute;left:{left:.2f}%;width:{width:.2f}%;"
                f"height:14px;background:{colour}'></div></div></td>"
                f"<td style='text-align:right'>+{r['start_ms']:.1f}</td>"
                f"<td style='text-align:right'>{r['duration_ms']:.1f}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in ("сервіс", "операція", "час", "старт, мс", "тривалість, мс"))
        return (f"<p>Траса <code>{self.trace_id}</code>: {count(len(self.spans), 'спан', 'спани', 'спанів')}, {self.duration_ms:.1f} мс, "
                f"сервіси: {', '.join(map(html.escape, self.services))}</p>"
                f"<table style='width:100%'><tr>{head}</tr>{''.join(rows)}</table>")
