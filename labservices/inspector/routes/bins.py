"""Bins: create one, read what it caught, choose what it answers, replay a request elsewhere."""
from __future__ import annotations

import asyncio
import time
from typing import Annotated

import httpx
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from labservices.common import ApiError, error_responses
from labservices.common.deps import ClientDep
from labservices.common.targets import target_problem

from ..models import (BinCreate, BinPublic, BinResponse, BinsPublic, CapturedRequest, CapturedRequests, ReplayCreate,
                      ReplayResult)
from ..settings import Settings, SettingsDep
from ..store import StoreDep

router = APIRouter(prefix="/api/bins", tags=["Bins"])

BinId = Annotated[str, Path(pattern=r"^[0-9a-f\-]{36}$", description="The bin's id (a UUID)")]
Number = Annotated[int, Path(ge=1, le=2**62, description="The request's number in the bin")]
HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection", "accept-encoding"}


def public(request: Request, settings: Settings, found: dict) -> dict:
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return {**found, "url": f"{base}/b/{found['id']}"}


@router.post("", status_code=201, response_model=BinPublic, responses=error_responses(400, 409))
def create_bin(request: Request, store: StoreDep, settings: SettingsDep, body: BinCreate | None = None) -> JSONResponse:
    """Create a bin: any request to its url is captured and answered as `response` says."""
    body = body or BinCreate()
    created = public(request, settings, store.create_bin(body.name, body.response.model_dump(), settings.max_bins))
    return JSONResponse(created, status_code=201, headers={"Location": f"{request.url.path}/{created['id']}"})


@router.get("", response_model=BinsPublic)
def list_bins(request: Request, store: StoreDep, settings: SettingsDep) -> BinsPublic:
    """Every bin, oldest first."""
    return BinsPublic(data=[public(request, settings, b) for b in store.list_bins()])


@router.get("/{bin_id}", response_model=BinPublic, responses=error_responses(400, 404))
def get_bin(bin_id: BinId, request: Request, store: StoreDep, settings: SettingsDep) -> dict:
    """One bin with its URL, its answer and how many requests it holds."""
    return public(request, settings, store.get_bin(bin_id))


@router.put("/{bin_id}/response", response_model=BinPublic, responses=error_responses(400, 404))
def set_response(bin_id: BinId, body: BinResponse, request: Request, store: StoreDep, settings: SettingsDep) -> dict:
    """Choose the answer: e.g. {"status": 500} or {"delay_ms": 8000} plays a failing or slow receiver."""
    return public(request, settings, store.set_response(bin_id, body.model_dump()))


@router.delete("/{bin_id}", status_code=204, responses=error_responses(400, 404))
def delete_bin(bin_id: BinId, store: StoreDep) -> Response:
    """Delete a bin and everything it caught."""
    store.delete_bin(bin_id)
    return Response(status_code=204)


@router.get("/{bin_id}/requests", response_model=CapturedRequests, responses=error_responses(400, 404))
def list_requests(bin_id: BinId, store: StoreDep, since: Annotated[int, Query(ge=0, le=2**62)] = 0,
                  limit: Annotated[int, Query(ge=1, le=100)] = 100) -> CapturedRequests:
    """Captured requests, oldest first; ?since=N gives only those after number N (to poll for new ones)."""
    return CapturedRequests(data=[CapturedRequest(**r) for r in store.list_requests(bin_id, since, limit)])


@router.get("/{bin_id}/requests/{number}", response_model=CapturedRequest, responses=error_responses(400, 404))
def get_request(bin_id: BinId, number: Number, store: StoreDep) -> CapturedRequest:
    """One captured request: method, path, headers, body, time."""
    return CapturedRequest(**store.get_request(bin_id, number))


@router.delete("/{bin_id}/requests", status_code=204, responses=error_responses(400, 404))
def clear_requests(bin_id: BinId, store: StoreDep) -> Response:
    """Forget every request the bin caught (numbering goes on)."""
    store.clear_requests(bin_id)
    return Response(status_code=204)


@router.post("/{bin_id}/requests/{number}/replay", response_model=ReplayResult, responses=error_responses(400, 404, 409))
async def replay(bin_id: BinId, number: Number, body: ReplayCreate, store: StoreDep, settings: SettingsDep,
                 client: ClientDep) -> ReplayResult:
    """Send the captured request again, byte for byte, to another URL (ngrok's replay); shows the answer."""
    problem = target_problem(body.url, settings.allowed_hosts)
    if problem:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту", [{"field": "url", "message": problem, "type": "target_refused"}])
    captured = await asyncio.to_thread(store.get_request, bin_id, number)
    if captured["truncated"]:
        raise ApiError(409, "BODY_TRUNCATED", f"Тіло запиту {number} збережено не повністю "
                       f"({settings.keep_body_bytes} з {captured['body_size']} байтів); повторити його не можна")
    headers = [(k, v) for k, v in captured["raw_headers"] if k.lower() not in HOP_BY_HOP]
    started = time.perf_counter()
    try:
        resp = await client.request(captured["method"], body.url, headers=headers, content=captured["raw_body"],
                                    timeout=settings.replay_timeout_s)
    except httpx.HTTPError as exc:
        return ReplayResult(url=body.url, method=captured["method"], status_code=None,
                            duration_ms=round((time.perf_counter() - started) * 1000, 2), headers={}, body=None,
                            error=f"{type(exc).__name__}: {exc}"[:300])
    return ReplayResult(url=body.url, method=captured["method"], status_code=resp.status_code,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2), headers=dict(resp.headers),
                        body=resp.text[:10_000], error=None)
