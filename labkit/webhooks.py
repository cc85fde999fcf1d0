"""Webhook helpers for notebooks: run a receiver in the kernel, wait for deliveries, draw their timeline.

    from labkit.webhooks import serve, wait_for_delivery, timeline
    receiver = serve(app)                       # your FastAPI app, on a free port
    ...register receiver.url + "/webhooks" at the payments service, trigger an event...
    delivery = wait_for_delivery(event_id, endpoint_id)
    timeline(delivery)                          # every attempt on a time axis

Under docker compose the payments service runs in another container: set
``LAB_RECEIVER_HOST`` (compose sets it to ``jupyterlab``) and the receiver listens on
every interface and names itself by that host.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from .config import url as service_url
from .procs import wait_until
from .ukrainian import count

FINISHED = ("succeeded", "failed")


@dataclass
class Receiver:
    """A receiver app running in this kernel; ``url`` is how the payments service reaches it."""

    url: str
    server: Any

    def stop(self) -> None:
        self.server.stop()

    def __repr__(self) -> str:
        return f"Receiver({self.url})"


def serve(app) -> Receiver:
    """Serve an ASGI app (FastAPI) on a free port in a background thread of this kernel."""
    from .grading.appserver import AppServer  # honours LAB_RECEIVER_HOST, as check("ex04") does

    server = AppServer(app).start()
    return Receiver(server.url, server)


def deliveries(event_id: str | None = None, endpoint_id: str | None = None, base: str | None = None) -> list[dict]:
    """The payments service's delivery log, newest first, for one event and/or one endpoint."""
    params = {k: v for k, v in {"event_id": event_id, "endpoint_id": endpoint_id, "limit": 100}.items() if v}
    resp = requests.get((base or service_url("payments")) + "/api/deliveries", params=params, timeout=10)
    resp.raise_for_status()
    return resp.json()["data"]


def wait_for_delivery(event_id: str, endpoint_id: str | None = None, *, attempts: int | None = None,
                      status: tuple[str, ...] = FINISHED, timeout: float = 30.0, base: str | None = None) -> dict:
    """Wait (at most ``timeout`` s) until the event's delivery is finished, or has made ``attempts`` attempts."""
    found: dict = {}

    def ready() -> bool:
        rows = deliveries(event_id, endpoint_id, base)
        if not rows:
            return False
        found["d"] = rows[0]
        if attempts is not None:
            return rows[0]["attempts_made"] >= attempts
        return rows[0]["status"] in status

    if not wait_until(ready, timeout=timeout, interval=0.05):
        seen = found.get("d", {})
        raise TimeoutError(f"Доставка події {event_id} не завершилася за {timeout:.0f} с "
                           f"(стан: {seen.get('status', 'ще не створена')}, спроб: {seen.get('attempts_made', 0)}). "
                           "Перевірте `lab status` і журнал: GET /api/deliveries.")
    return found["d"]


def _time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Timeline:
    """Every attempt of one delivery on a time axis: when it was due, when it went, what came back."""

    def __init__(self, delivery: dict) -> None:
        self.delivery = delivery
        attempts = delivery.get("attempts", [])
        self.origin = _time(attempts[0]["started_at"]) if attempts else 0.0
        self.rows = [{**a, "t": _time(a["started_at"]) - self.origin,
                      "due": _time(a["scheduled_at"]) - self.origin} for a in attempts]

    @staticmethod
    def _what(a: dict) -> str:
        return str(a["status_code"]) if a["status_code"] is not None else (a["error"] or "—").split(":")[0]

    def __repr__(self) -> str:
        d = self.delivery
        lines = [f"{d['id']}  {d['event_type']}  → {d['url']}  [{d['status']}]"]
        previous = None
        for a in self.rows:
            gap = "" if previous is None else f"  (+{a['t'] - previous:.2f} с)"
            lines.append(f"  спроба {a['number']}{' (вручну)' if a['manual'] else ''}: t={a['t']:.2f} с{gap}  "
                         f"→ {self._what(a)}  {a['duration_ms']:.0f} ms  (запізнення {a['late_ms']:.0f} ms)")
            previous = a["t"]
        if d.get("next_attempt_at"):
            lines.append(f"  наступна спроба: {d['next_attempt_at']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        d, esc = self.delivery, html.escape
        width, left, right, y = 640, 40, 60, 50
        span = max([a["t"] for a in self.rows] + [0.001])
        # A square-root axis: the retries' gaps grow 60-fold, a linear one would pile the first ones up.
        x_of = lambda t: left + (t / span) ** 0.5 * (width - left - right)  # noqa: E731
        parts = [f"<line x1='{left}' y1='{y}' x2='{width - right}' y2='{y}' stroke='#888'/>"]
        for i, a in enumerate(self.rows):
            x = x_of(a["t"])
            colour = "#1a7f37" if a["succeeded"] else "#cf222e"
            label_y = y - 14 if i % 2 == 0 else y + 24
            parts.append(f"<circle cx='{x:.1f}' cy='{y}' r='7' fill='{colour}'><title>спроба {a['number']}: "
                         f"{esc(self._what(a))}, {a['duration_ms']:.0f} ms</title></circle>")
            parts.append(f"<text x='{x:.1f}' y='{label_y}' font-size='11' text-anchor='middle'>#{a['number']} "
                         f"{esc(self._what(a))} · {a['t']:.2f} с</text>")
        svg = (f"<svg width='{width}' height='90' style='font-family:sans-serif'>{''.join(parts)}"
               f"<text x='{width - right + 12}' y='{y + 4}' font-size='10' fill='#666'>час →</text></svg>")
        rows = "".join(
            f"<tr><td>{a['number']}{' (вручну)' if a['manual'] else ''}</td><td>{a['t']:.2f} с</td>"
            f"<td>{a['late_ms']:.0f} ms</td><td style='color:{'#1a7f37' if a['succeeded'] else '#cf222e'}'>"
            f"{esc(self._what(a))}</td><td>{a['duration_ms']:.0f} ms</td></tr>" for a in self.rows)
        head = "".join(f"<th>{h}</th>" for h in ("спроба", "час від першої", "запізнення", "відповідь", "тривала"))
        state = {"succeeded": "доставлено", "failed": "failed: потрібна ручна повторна доставка",
                 "pending": f"чекає; наступна спроба {esc(str(d.get('next_attempt_at')))}"}[d["status"]]
        return (f"<div><b>{esc(d['event_type'])}</b> <code>{esc(d['event_id'])}</code> → <code>{esc(d['url'])}</code>"
                f": {state}<br>{svg}<table><tr>{head}</tr>{rows}</table></div>")


def timeline(delivery: dict | str, base: str | None = None) -> Timeline:
    """Draw a delivery's attempts (a delivery dict from the log, or its id ``dlv_...``)."""
    if isinstance(delivery, str):
        resp = requests.get((base or service_url("payments")) + f"/api/deliveries/{delivery}", timeout=10)
        resp.raise_for_status()
        delivery = resp.json()
    return Timeline(delivery)


class CapturedView:
    """Requests a bin of the inspector caught: method, path, a few headers, the body."""

    SHOWN = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature",
             "x-webhook-signature", "x-github-event", "x-hub-signature-256")

    def __init__(self, captured: list[dict]) -> None:
        self.captured = captured

    def __repr__(self) -> str:
        return "\n".join(f"#{r['number']} {r['method']} {r['path'] or '/'}  {r['received_at']}  "
                         f"{r['headers'].get('webhook-id', '')}" for r in self.captured) or "(порожньо)"

    def _repr_html_(self) -> str:
        esc = html.escape
        out = []
        for r in self.captured:
            headers = "<br>".join(f"<b>{esc(k)}</b>: <code>{esc(v)}</code>" for k, v in r["headers"].items()
                                  if k in self.SHOWN)
            body = r["body"] if len(r["body"]) < 3000 else r["body"][:3000] + "…"
            out.append(f"<details><summary>#{r['number']} <b>{esc(r['method'])}</b> {esc(r['path'] or '/')} "
                       f"<span style='color:#666'>{esc(r['received_at'])}</span></summary>{headers}"
                       f"<pre style='max-height:240px;overflow:auto;background:#f6f8fa'>{esc(body)}</pre></details>")
        return "".join(out) or "<i>(порожньо)</i>"


def captured(bin_id: str, at_least: int = 0, timeout: float = 10.0, base: str | None = None) -> CapturedView:
    """What an inspector bin caught, oldest first, once it holds ``at_least`` requests (waiting ``timeout`` s)."""
    found: list[dict] = []

    def enough() -> bool:
        resp = requests.get((base or service_url("inspector")) + f"/api/bins/{bin_id}/requests", timeout=10)
        resp.raise_for_status()
        found[:] = resp.json()["data"]
        return len(found) >= at_least

    if not wait_until(enough, timeout=timeout, interval=0.05):
        raise TimeoutError(f"Бін {bin_id} отримав {count(len(found), 'запит', 'запити', 'запитів')} з {at_least} за {timeout:.0f} с.")
    return CapturedView(found)
