"""Notebook 05's microservices from a notebook: the registry, circuit breakers, sagas, each service's database.

    from labkit.micro import login, registry, databases, breakers, breaker_watch, in_flight, saga_timeline
    headers = login()                            # a JWT from users, through the gateway
    registry()                                   # every instance the registry knows, up or down
    databases()                                  # each service's own SQLite files and their tables
    breakers("orders")                           # orders' circuit breakers: state, counters
    breaker_watch("orders", "catalog", 20)       # the breaker's state over the next 20 s, drawn live
    in_flight("orders")                          # requests orders is answering right now
    saga_timeline(saga)                          # a saga's steps and compensations over time

Breaking them and putting them back (a chaos panel, ``restore()``) is :mod:`labkit.panel`.
"""
from __future__ import annotations

import html
import re
import sqlite3
import threading
import time
from datetime import datetime
from typing import Any

import requests

from .config import lab_home, url
from .tables import format_table

GATEWAY_USER = ("olena@example.com", "lab-password")
# The services notebook 05 drives, in the order of the lecture's diagram.
MICROSERVICES = ["gateway", "users", "catalog", "catalog-2", "registry", "orders", "saga", "payments", "billing",
                 "inventory", "shipping", "carrier"]
STATE_COLOURS = {"closed": "#59a14f", "half-open": "#edc948", "open": "#e15759", "disabled": "#bbb"}
STATE_LEVELS = {"closed": 0, "disabled": 0, "half-open": 1, "open": 2}


class Rows:
    """A list of dicts drawn as a table (HTML in Jupyter, text elsewhere); indexable like the list."""

    def __init__(self, rows: list[dict], title: str = "") -> None:
        self.rows, self.title = rows, title

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list:
        return [r.get(name) for r in self.rows]

    def __repr__(self) -> str:
        if not self.rows:
            return f"{self.title}: —"
        header = list(self.rows[0])
        table = format_table([[str(r.get(k, "")) for k in header] for r in self.rows], header)
        return f"{self.title}\n{table}" if self.title else table

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<p>{html.escape(self.title)}: порожньо</p>"
        header = list(self.rows[0])
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{_cell(r.get(k))}</td>" for k in header) + "</tr>"
                       for r in self.rows)
        title = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        return f"{title}<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    text = html.escape(str(value))
    colour = STATE_COLOURS.get(str(value)) or {"up": "#1a7f37", "down": "#cf222e"}.get(str(value))
    return f"<b style='color:{colour}'>{text}</b>" if colour else text


def login(email: str = GATEWAY_USER[0], password: str = GATEWAY_USER[1]) -> dict[str, str]:
    """Log in at the gateway (the users service issues the JWT); the headers to send with every call."""
    resp = requests.post(f"{url('gateway')}/api/auth/login", json={"email": email, "password": password}, timeout=10)
    if resp.status_code != 200:
        raise RuntimeError(f"Вхід не вдався ({resp.status_code}): {resp.text[:200]}. Перевірте email і пароль "
                           "(у лабораторії: olena@example.com / lab-password) і `lab status`.")
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def registry() -> Rows:
    """Every instance the registry knows, up or down, with how long ago it last sent a heartbeat."""
    found = requests.get(f"{url('registry')}/api/services", timeout=5).json()
    now = time.time()
    rows = [{"service": service, "instance": i["instance_id"], "url": i["url"], "status": i["status"],
             "failed_checks": i["failed_checks"], "heartbeat_s_ago": round(now - _epoch(i["last_heartbeat"]), 1)}
            for service, instances in found.items() for i in instances]
    return Rows(rows, "Реєстр сервісів")


def databases() -> Rows:
    """Each service's own SQLite files in the lab's data folder: size and tables."""
    rows = []
    for path in sorted((lab_home() / "data").glob("*.sqlite3")):
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
            try:
                tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                                     "name NOT LIKE 'sqlite_%' ORDER BY name")]
            finally:
                conn.close()
        except sqlite3.Error:
            tables = ["?"]
        rows.append({"service": re.sub(r"(-events)?\.sqlite3$", "", path.name), "file": path.name,
                     "kb": round(_size(path) / 1024), "tables": ", ".join(tables)})
    return Rows(rows, f"Бази даних у {lab_home() / 'data'}")


def _size(path) -> int:
    """The database's bytes, its write-ahead log included (recent writes live there until a checkpoint)."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def breakers(service: str = "orders") -> Rows:
    """A service's circuit breakers (``GET /admin/breakers``): state, threshold, timeout, calls."""
    found = requests.get(f"{url(service)}/admin/breakers", timeout=5).json()
    return Rows([{"breaker": b["name"], "state": b["state"], "fail_max": b["fail_max"],
                  "reset_timeout_s": b["reset_timeout_s"], "failures_in_a_row": b["failures_in_a_row"],
                  "open_for_s": b["open_for_s"], **b["calls"]} for b in found], f"Circuit breakers: {service}")


def in_flight(service: str) -> int:
    """Requests the service is answering right now (``http_requests_in_progress``), not counting this one."""
    text = requests.get(f"{url(service)}/metrics", timeout=5).text
    value = next(float(line.split()[-1]) for line in text.splitlines() if line.startswith("http_requests_in_progress"))
    return max(0, int(value) - 1)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# --- a breaker's state over time -------------------------------------------------------------------

class BreakerWatch:
    """Samples one breaker for ``seconds`` and draws its state over time (live, as an ipywidgets HTML)."""

    def __init__(self, service: str, name: str, seconds: float = 20.0, interval: float = 0.25) -> None:
        self.service, self.name, self.seconds, self.interval = service, name, seconds, interval
        self.samples: list[tuple[float, str]] = []  # (epoch seconds, state)
        self.transitions: list[dict] = []
        self.last: dict = {}
        self.started = time.time()
        self.widget = None
        self.thread = threading.Thread(target=self._run, name="breaker-watch", daemon=True)

    def start(self) -> "BreakerWatch":
        try:
            import ipywidgets

            self.widget = ipywidgets.HTML()
        except ImportError:  # a plain Python session: draw once, at the end
            self.widget = None
        self.sample()
        self.thread.start()
        return self

    def wait(self) -> "BreakerWatch":
        """Block until the watch is over (for scripts and tests)."""
        self.thread.join(timeout=self.seconds + 10)
        return self

    def sample(self) -> None:
        try:
            found = requests.get(f"{url(self.service)}/admin/breakers", timeout=2).json()
            snap = next(b for b in found if b["name"] == self.name)
        except (requests.RequestException, StopIteration, ValueError):
            return
        self.last = snap
        self.samples.append((time.time(), snap["state"]))
        self.transitions = [t for t in snap["transitions"] if t["from"] != t["to"]]  # open→open: re-armed, no change
        if self.widget is not None:
            self.widget.value = self._repr_html_()

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            time.sleep(self.interval)
            self.sample()

    def states(self) -> list[tuple[float, str]]:
        """(seconds since the watch started, state): the samples and the transitions the breaker recorded."""
        points = [(t, s) for t, s in self.samples]
        points += [(_epoch(t["at"]), t["to"]) for t in self.transitions if _epoch(t["at"]) >= self.started]
        return [(round(t - self.started, 3), s) for t, s in sorted(points)]

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(self.widget if self.widget is not None else HTML(self._repr_html_()))

    def __repr__(self) -> str:
        return f"{self.service}/{self.name}: " + " → ".join(f"+{t1:.1f} s {state}"
                                                            for t1, _t2, state in _segments(self.states()))

    def _repr_html_(self) -> str:
        points = self.states()
        if not points:
            return f"<p>Запобіжник {html.escape(self.name)} у {html.escape(self.service)} не відповідає.</p>"
        width, left, top = 600, 80, 10
        span = max(self.seconds, points[-1][0], 1.0)
        y = {lvl: top + 20 + 25 * (2 - lvl) for lvl in (0, 1, 2)}
        parts = [f"<svg width='{width + left + 20}' height='110' style='font:12px sans-serif'>"]
        for name, lvl in (("open", 2), ("half-open", 1), ("closed", 0)):
            parts.append(f"<text x='4' y='{y[lvl] + 4}' fill='{STATE_COLOURS[name]}'>{name}</text>"
                         f"<line x1='{left}' y1='{y[lvl]}' x2='{left + width}' y2='{y[lvl]}' stroke='#eee'/>")
        for t1, t2, state in _segments(points):
            x1, x2 = left + width * t1 / span, left + width * t2 / span
            parts.append(f"<rect x='{x1:.1f}' y='{y[STATE_LEVELS[state]] - 3}' width='{max(x2 - x1, 2):.1f}' "
                         f"height='6' fill='{STATE_COLOURS[state]}'>"
                         f"<title>{state}: +{t1:.1f}…{t2:.1f} с</title></rect>")
        parts.append(f"<text x='{left}' y='105' fill='#888'>0 с</text>"
                     f"<text x='{left + width - 30}' y='105' fill='#888'>{span:.0f} с</text></svg>")
        calls = self.last.get("calls", {})
        now = (f"зараз <b style='color:{STATE_COLOURS.get(self.last.get('state'), '#888')}'>{self.last.get('state')}"
               f"</b> · викликів успішних {calls.get('success', 0)}, невдалих {calls.get('failure', 0)}, "
               f"відхилених {calls.get('rejected', 0)}")
        return (f"<div><b>{html.escape(self.service)} → {html.escape(self.name)}</b>: {now}<br>{''.join(parts)}"
                "<br><small>розімкнений (open): виклики відхиляються одразу; напіврозімкнений (half-open): "
                "пропускається одна пробна спроба</small></div>")


def _segments(points: list[tuple[float, str]]) -> list[tuple[float, float, str]]:
    """(from, to, state) for each stretch of one state; the last lasts until the last point."""
    out: list[list] = []
    for t, state in points:
        if out and out[-1][2] == state:
            continue
        if out:
            out[-1][1] = t
        out.append([t, t, state])
    if out:
        out[-1][1] = points[-1][0]
    return [tuple(seg) for seg in out]


def breaker_watch(service: str, name: str, seconds: float = 20.0) -> BreakerWatch:
    """Draw ``service``'s breaker ``name`` live for ``seconds`` s (runs beside the next cells)."""
    return BreakerWatch(service, name, seconds).start()


# --- a saga as a timeline --------------------------------------------------------------------------

class SagaTimeline:
    """A saga drawn as steps × time: each step's work, then the compensations, which run in reverse."""

    def __init__(self, saga: dict) -> None:
        self.saga = saga
        self.steps = [s["name"] for s in saga["steps"]]

    def bars(self) -> list[dict]:
        """One bar per step that ran and per compensation: step, kind (step or compensation), from, to, outcome."""
        out: list[dict] = []
        open_: dict[tuple[str, str], float] = {}
        for line in self.saga.get("log") or []:
            step, kind, at = line["step"], line["kind"], line["t_ms"]
            if kind in ("step_started", "compensation_started"):
                open_[(step, kind.split("_")[0])] = at
            elif kind in ("step_succeeded", "step_failed") and (step, "step") in open_:
                out.append({"step": step, "kind": "step", "from_ms": open_.pop((step, "step")), "to_ms": at,
                            "outcome": "failed" if kind == "step_failed" else "done", "detail": line["detail"]})
            elif kind == "compensated" and (step, "compensation") in open_:
                out.append({"step": step, "kind": "compensation", "from_ms": open_.pop((step, "compensation")),
                            "to_ms": at, "outcome": "compensated", "detail": line["detail"]})
        return out

    def compensated(self) -> list[str]:
        """The steps compensated, in the order their compensations ran."""
        return [b["step"] for b in self.bars() if b["kind"] == "compensation"]

    def __repr__(self) -> str:
        lines = [f"Saga {self.saga['saga_id']}: {self.saga['status']} in {self.saga['duration_ms']:.0f} ms"
                 + (f", failed at {self.saga['failed_step']}: {self.saga['reason']}" if self.saga.get("failed_step")
                    else "")]
        for b in self.bars():
            arrow = "↩" if b["kind"] == "compensation" else "→"
            lines.append(f"  {arrow} {b['step']:<16} +{b['from_ms']:6.1f} ms  {b['outcome']:<11} {b['detail'] or ''}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        bars = self.bars()
        span = max([b["to_ms"] for b in bars] + [1.0])
        width, left, row = 520, 130, 24
        colours = {"done": "#59a14f", "failed": "#e15759", "compensated": "#f28e2b"}
        height = row * len(self.steps) + 30
        parts = [f"<svg width='{width + left + 20}' height='{height}' style='font:12px sans-serif'>"]
        for i, step in enumerate(self.steps):
            line_y = 12 + i * row
            parts.append(f"<text x='4' y='{16 + i * row}'>{html.escape(step)}</text>"
                         f"<line x1='{left}' y1='{line_y}' x2='{left + width}' y2='{line_y}' stroke='#eee'/>")
        for b in bars:
            i = self.steps.index(b["step"])
            x1, x2 = left + width * b["from_ms"] / span, left + width * b["to_ms"] / span
            y = 4 + i * row + (8 if b["kind"] == "compensation" else 0)
            tip = (f"{b['step']} {b['kind']}: {b['outcome']} (+{b['from_ms']:.1f}…{b['to_ms']:.1f} мс) "
                   f"{b['detail'] or ''}")
            parts.append(f"<g><title>{html.escape(tip)}</title><rect x='{x1:.1f}' y='{y}' "
                         f"width='{max(x2 - x1, 4):.1f}' "
                         f"height='8' fill='{colours[b['outcome']]}'/></g>")
        undo = [b for b in bars if b["kind"] == "compensation"]
        for a, b in zip(undo, undo[1:]):  # each compensation hands over to the one of the step before it
            xa, xb = left + width * a["to_ms"] / span, left + width * b["from_ms"] / span
            ya, yb = 16 + self.steps.index(a["step"]) * row, 12 + self.steps.index(b["step"]) * row
            parts.append(f"<path d='M{xa:.1f},{ya} L{xb:.1f},{yb + 4}' stroke='#f28e2b' fill='none' "
                         "stroke-dasharray='3,2'/>")
        parts.append(f"<text x='{left}' y='{height - 2}' fill='#888'>0 мс</text>"
                     f"<text x='{left + width - 50}' y='{height - 2}' fill='#888'>{span:.0f} мс</text></svg>")
        s = self.saga
        head = (f"<p>Сага <code>{html.escape(s['saga_id'])}</code>: <b>{html.escape(s['status'])}</b>, "
                f"замовлення {html.escape(s['order_status'])}, {s['duration_ms']:.0f} мс"
                + (f"; збій на кроці <b>{html.escape(s['failed_step'])}</b>: {html.escape(s['reason'] or '')}"
                   if s.get("failed_step") else "") + "</p>")
        legend = ("<div><small><span style='color:#59a14f'>■</span> крок виконано <span style='color:#e15759'>■</span> "
                  "крок не вдався <span style='color:#f28e2b'>■</span> компенсація (під смугою кроку; пунктир — "
                  "порядок компенсацій, від останнього кроку до першого)</small></div>")
        return head + "".join(parts) + legend


def saga_timeline(saga: dict | str) -> SagaTimeline:
    """A saga (its dict from the saga service, or its id) drawn as a timeline of steps and compensations."""
    if isinstance(saga, str):
        saga = requests.get(f"{url('saga')}/api/sagas/{saga}", timeout=5).json()
    elif "log" not in saga:
        saga = requests.get(f"{url('saga')}/api/sagas/{saga['saga_id']}", timeout=5).json()
    return SagaTimeline(saga)
