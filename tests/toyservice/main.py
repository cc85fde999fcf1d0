"""A tiny service built with the common app factory, to test what every service shares."""
from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from labservices.common import ApiError, Database, ServiceSettings, create_app
from labservices.common.declaration import Instance

from . import SERVICE


class Settings(ServiceSettings):
    model_config = ServiceSettings.model_config | {"env_prefix": "TOY_"}

    fail_start: bool = False  # the app raises during start-up (the host must survive it and say why)


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=50)
    age: int = Field(gt=18)


router = APIRouter()


@router.get("/api/notes")
def list_notes(request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[dict]:
    """List notes."""
    with request.app.state.db.tx() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM notes LIMIT ?", (limit,))]


@router.post("/api/notes", status_code=201)
def create_note(note: NoteCreate, request: Request) -> dict:
    """Create a note."""
    with request.app.state.db.tx() as conn:
        cur = conn.execute("INSERT INTO notes (text) VALUES (?)", (note.text,))
        return {"id": cur.lastrowid, "text": note.text}


@router.get("/api/conflict")
def conflict() -> None:
    """Always 409."""
    raise ApiError(409, "DUPLICATE", "Такий запис уже існує", [{"field": "email", "message": "Зайнято"}])


@router.get("/api/crash")
def crash() -> None:
    """Raise an unexpected error."""
    raise RuntimeError("secret database password leaked in a stack trace")


@router.get("/api/block")
async def block(ms: Annotated[int, Query(ge=0, le=2000)] = 400) -> dict:
    """Block the event loop on purpose (the host's watchdog must name this line)."""
    time.sleep(ms / 1000)  # the mistake the watchdog exists to catch
    return {"blocked_ms": ms}


@router.get("/api/call")
async def call(request: Request, url: str) -> dict:
    """Call another URL with the common client (to see X-Request-ID and traceparent passed on)."""
    resp = await request.app.state.client.get(url)
    return {"status": resp.status_code, "body": resp.json() if "json" in resp.headers.get("content-type", "") else None}


versioned = APIRouter()


@versioned.get("/echo/{n}")
def echo(n: int) -> dict:
    """Echo a number (mounted under /api/v2, to test route labels of prefixed routers)."""
    return {"n": n}


@router.get("/api/headers")
def headers(request: Request) -> dict:
    """The request's headers, as the service saw them."""
    return dict(request.headers)


async def flaky_worker(app: FastAPI) -> None:
    """A background worker that crashes on its first run (the supervisor must restart it)."""
    app.state.worker_runs += 1
    if app.state.worker_runs == 1:
        raise RuntimeError("the worker's first run fails on purpose")
    await asyncio.Event().wait()


def build_app(instance: Instance | None = None) -> FastAPI:
    settings = Settings.for_instance(instance)
    if settings.fail_start:
        raise RuntimeError("toy was told to fail at start-up (TOY_FAIL_START)")
    db = Database(settings.database_path("toy"),
                  "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
                  seed=lambda conn: conn.execute("INSERT INTO notes (text) VALUES ('перша нотатка')"))
    if db.is_empty("notes"):
        db.reset()
    app = create_app(instance or SERVICE.name, title=SERVICE.title, settings=settings, routers=[router],
                     reset=db.reset, workers=[flaky_worker], on_stop=[db.close])
    app.state.db = db
    app.state.worker_runs = 0
    app.include_router(versioned, prefix="/api/v2")
    return app
