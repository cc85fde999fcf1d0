"""The inspector's pydantic schemas: bins, the answer a bin gives, captured requests, replays."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labservices.common.inputs import STRICT, Int, trimmed

Input = ConfigDict(extra="forbid", str_max_length=20_000, **STRICT)


class BinResponse(BaseModel):
    """What the bin answers every request with: make it 500 or slow to play a failing receiver."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"status": 500, "delay_ms": 0}]})

    status: Int = Field(200, ge=200, le=599, description="Status code, 200–599")
    delay_ms: Int = Field(0, ge=0, le=10_000, description="Wait this long before answering (at most 10 s)")
    body: Annotated[str, StringConstraints(max_length=10_000)] = '{"received": true}'
    content_type: Annotated[str, StringConstraints(pattern=r"^[\w.+\-]+/[\w.+\-]+(; ?charset=[\w\-]+)?$")] = \
        "application/json"


class BinCreate(BaseModel):
    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"name": "мій вебхук"}]})

    name: trimmed(100, min_length=0) = ""
    response: BinResponse = Field(default_factory=BinResponse)


class BinPublic(BaseModel):
    """A bin: send anything to ``url`` and read it back from ``/api/bins/{id}/requests``."""

    id: str = Field(examples=["0b7c3e1f-6a2d-4c1e-9b8f-3f1e2d4c5a6b"])
    name: str
    url: str = Field(description="Where to send requests (any method, any sub-path)")
    response: BinResponse
    request_count: int
    created_at: str


class BinsPublic(BaseModel):
    data: list[BinPublic]


class CapturedRequest(BaseModel):
    """One request as the bin received it."""

    number: int = Field(description="1, 2, 3... within the bin")
    method: str
    path: str = Field(description="The part after the bin's URL, e.g. /stripe")
    query: str
    headers: dict[str, str]
    body: str = Field(description="The body as text (UTF-8; invalid bytes replaced)")
    json_body: Any = Field(None, alias="json", description="The body parsed, when it is JSON nested at most 64 deep "
                                                           "(deeper: only `body`)")
    body_size: int
    truncated: bool = Field(description="Only the first bytes were kept")
    client: str
    received_at: str

    model_config = ConfigDict(populate_by_name=True)


class CapturedRequests(BaseModel):
    data: list[CapturedRequest]


class ReplayCreate(BaseModel):
    """Send a captured request again, unchanged (method, headers, body), to another URL."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"url": "http://127.0.0.1:9000/webhooks"}]})

    url: trimmed(2048)


class ReplayResult(BaseModel):
    url: str
    method: str
    status_code: int | None
    duration_ms: float
    headers: dict[str, str]
    body: str | None
    error: str | None
