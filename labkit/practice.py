"""Notebook 08's helpers: a CRM session that holds its token, and a middleware run drawn step by step.

In a notebook::

    from labkit.practice import crm, run, await_run
    session = crm()                                    # OAuth2 client credentials, then Bearer on every call
    session.get(url("crm") + "/api/contacts", params={"email": "ivan@example.com"}).json()
    run(execution)                                     # the run's steps as n8n shows them: ✅ ❌ 🔁 ⏳
"""
from __future__ import annotations

import html
import json
import time

import requests

from .config import lab_home, url

CRM_CLIENT = {"grant_type": "client_credentials", "client_id": "lab-middleware", "client_secret": "mw-secret"}
ICONS = {"success": "✅", "error": "❌", "retrying": "🔁", "running": "⏳", "waiting": "·"}


def crm(client_id: str = "lab-middleware", client_secret: str = "mw-secret") -> requests.Session:
    """A session that sends the CRM's Bearer token (fetched now with client credentials) on every request."""
    resp = requests.post(url("crm") + "/services/oauth2/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret})
    resp.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
    return session


def log_of(service: str, request_id: str) -> list[dict]:
    """The JSON lines of one service's log that carry ``request_id`` (``$LAB_HOME/logs/<service>.log``)."""
    path = lab_home() / "logs" / f"{service}.log"
    if not path.exists():
        return []
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [entry for line in fh if request_id in line
                for entry in [_json(line)] if isinstance(entry, dict) and entry.get("request_id") == request_id]


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def await_run(execution_id: str, timeout: float = 30.0) -> dict:
    """The middleware's execution once it is no longer running (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        execution = requests.get(url("middleware") + f"/api/executions/{execution_id}", timeout=10).json()
        if execution["status"] != "running" or time.monotonic() > deadline:
            return execution
        time.sleep(0.2)


class RunView:
    """One execution, step by step: status, attempts, time, what the step produced or why it failed."""

    def __init__(self, execution: dict) -> None:
        self.execution = execution

    def rows(self) -> list[tuple[str, str, int, str, str]]:
        out = []
        for step in self.execution["steps"]:
            detail = step["error"] or ", ".join(f"{k}={v}" for k, v in (step["output"] or {}).items())
            ms = "" if step["duration_ms"] is None else f"{step['duration_ms']:.0f}"
            out.append((f"{ICONS.get(step['status'], '')} {step['name']}", step["status"], step["attempts"], ms,
                        detail[:90]))
        return out

    def __repr__(self) -> str:
        head = f"{self.execution['id']} {self.execution['workflow']} {self.execution['status']}"
        lines = [f"  {name:<22} {status:<8} спроб {attempts}  {ms:>5} мс  {detail}"
                 for name, status, attempts, ms, detail in self.rows()]
        return "\n".join([head, *lines])

    def _repr_html_(self) -> str:
        e = self.execution
        rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{html.escape(s)}</td><td>{a}</td><td>{m}</td>"
                       f"<td><code>{html.escape(d)}</code></td></tr>" for n, s, a, m, d in self.rows())
        return (f"<p><b>{html.escape(e['workflow'])}</b> · {html.escape(e['id'])} · {ICONS.get(e['status'], '')} "
                f"{html.escape(e['status'])} · request_id <code>{html.escape(e['request_id'])}</code></p>"
                "<table><tr><th>крок</th><th>статус</th><th>спроб</th><th>мс</th><th>результат або помилка</th>"
                f"</tr>{rows}</table>")


def run(execution: dict) -> RunView:
    """Draw a middleware execution (from ``/api/executions/{id}`` or a webhook's answer) step by step."""
    return RunView(execution.get("execution", execution))
