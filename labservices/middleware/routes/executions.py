"""The run history, step by step (n8n's executions list), the dead letters and their manual replay."""
from __future__ import annotations

import asyncio
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse

from labservices.common import error_responses
from labservices.common.deps import from_state

from ..engine import Engine
from ..store import StoreDep

router = APIRouter(tags=["Executions"])
EngineDep = Annotated[Engine, Depends(from_state("engine"))]
ExecutionId = Annotated[str, Path(pattern=r"^exe_[0-9a-f]{12}$")]
ICONS = {"success": "✅", "error": "❌", "running": "⏳", "retrying": "🔁", "waiting": "·"}


@router.get("/api/executions")
def list_executions(store: StoreDep, workflow: Literal["new-order", "email-engagement"] | None = None,
                    status: Literal["running", "success", "error"] | None = None,
                    order_id: Annotated[str | None, Query(max_length=64)] = None,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict]:
    """Runs, newest first, each with its steps: status, attempts, output, error."""
    return store.executions(workflow, status, order_id, limit)


@router.get("/api/executions/{execution_id}", responses=error_responses(400, 404))
def get_execution(execution_id: ExecutionId, store: StoreDep) -> dict:
    """One run, step by step."""
    return store.execution(execution_id)


@router.get("/api/dead-letters")
def dead_letters(store: StoreDep) -> list[dict]:
    """Runs that stopped at a step and wait for a person: which step, and why."""
    return store.dead_letters()


@router.post("/api/dead-letters/{execution_id}/replay", status_code=202, responses=error_responses(400, 404, 409))
async def replay(execution_id: ExecutionId, engine: EngineDep, store: StoreDep,
                 wait: Annotated[bool, Query(description="Answer when the run has finished (at most 30 s)")] = False) -> dict:
    """Run it again from the failed step; the steps that succeeded are not repeated."""
    await engine.replay(execution_id)
    if wait:
        await engine.wait(execution_id, timeout=30)
    return await asyncio.to_thread(store.execution, execution_id)


PAGE = """<!doctype html><html lang="uk"><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:.3em .6em;vertical-align:top}}pre{{margin:0;white-space:pre-wrap;max-width:40em}}</style>
<h1>{title}</h1>{body}</html>"""


@router.get("/executions", response_class=HTMLResponse, include_in_schema=False)
def executions_page(store: StoreDep) -> str:
    """The executions list, as n8n shows it."""
    rows = "".join(
        f"<tr><td>{ICONS.get(e['status'], '')} {escape(e['status'])}</td><td><a href='executions/{e['id']}'>{e['id']}</a>"
        f"</td><td>{escape(e['workflow'])}</td><td>{escape(e['order_id'] or '')}</td><td>{e['started_at']}</td>"
        f"<td>{e['duration_ms'] or ''}</td><td>{escape(e['failed_step'] or '')}</td><td>{e['replays']}</td></tr>"
        for e in store.executions(None, None, None, 100))
    head = "<tr><th>статус</th><th>виконання</th><th>workflow</th><th>замовлення</th><th>почато</th><th>мс</th>" \
           "<th>зупинилось на</th><th>повторів</th></tr>"
    return PAGE.format(title="Виконання workflow", body=f"<table>{head}{rows}</table>")


@router.get("/executions/{execution_id}", response_class=HTMLResponse, include_in_schema=False)
def execution_page(execution_id: ExecutionId, store: StoreDep) -> str:
    """One execution, node by node."""
    e = store.execution(execution_id)
    rows = "".join(
        f"<tr><td>{ICONS.get(s['status'], '')} {escape(s['name'])}</td><td>{escape(s['status'])}</td>"
        f"<td>{s['attempts']}</td><td>{s['duration_ms'] or ''}</td><td><pre>{escape(str(s['output'] or ''))}</pre></td>"
        f"<td><pre>{escape(s['error'] or '')}</pre></td></tr>" for s in e["steps"])
    head = "<tr><th>крок</th><th>статус</th><th>спроб</th><th>мс</th><th>результат</th><th>помилка</th></tr>"
    facts = (f"<p>{escape(e['workflow'])} · замовлення {escape(e['order_id'] or '—')} · request_id "
             f"<code>{escape(e['request_id'])}</code> · {ICONS.get(e['status'], '')} {escape(e['status'])}</p>")
    return PAGE.format(title=f"Виконання {e['id']}", body=facts + f"<table>{head}{rows}</table>"
                       + "<p><a href='../executions'>← усі виконання</a></p>")
