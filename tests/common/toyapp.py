"""A tiny service built with the common app factory, to test what every service shares."""
from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from labservices.common import ApiError, Database, ServiceSettings, create_app


class Settings(ServiceSettings):
    model_config = ServiceSettings.model_config | {"env_prefix": "TOY_"}


settings = Settings()
db = Database(settings.database_path("toy"), "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
              seed=lambda conn: conn.execute("INSERT INTO notes (text) VALUES ('перша нотатка')"))
if db.is_empty("notes"):
    db.reset()

router = APIRouter()


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=50)
    age: int = Field(gt=18)


@router.get("/api/notes")
def list_notes(limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[dict]:
    """List notes."""
    with db.tx() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM notes LIMIT ?", (limit,))]


@router.post("/api/notes", status_code=201)
def create_note(note: NoteCreate) -> dict:
    """Create a note."""
    with db.tx() as conn:
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


versioned = APIRouter()


@versioned.get("/echo/{n}")
def echo(n: int) -> dict:
    """Echo a number (mounted under /api/v2, to test route labels of prefixed routers)."""
    return {"n": n}


app = create_app("toy", title="Toy", settings=settings, routers=[router], reset=db.reset)
app.include_router(versioned, prefix="/api/v2")
