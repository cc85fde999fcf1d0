"""The bin's own URL: any method, any sub-path, captured and answered as the bin is told."""
from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from labservices.common import error_responses

from ..settings import SettingsDep
from ..store import StoreDep

router = APIRouter(tags=["Capture"])

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
BinId = Annotated[str, Path(pattern=r"^[0-9a-f\-]{36}$", description="The bin's id")]


async def capture(bin_id: str, rest: str, request: Request, store, settings) -> Response:
    body = await request.body()
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
    client = request.client.host if request.client else ""
    number, answer = await run_in_threadpool(
        store.capture, bin_id, request.method, "/" + rest if rest else "", request.url.query, headers, body,
        settings.keep_body_bytes, client, settings.max_requests_per_bin)
    if answer["delay_ms"]:
        await asyncio.sleep(answer["delay_ms"] / 1000)
    return Response(content=answer["body"], status_code=answer["status"], media_type=answer["content_type"],
                    headers={"X-Inspector-Request": str(number)})


@router.api_route("/b/{bin_id}", methods=METHODS, summary="Capture a request (any method)",
                  responses=error_responses(404))
async def capture_root(bin_id: BinId, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Send anything here: it is stored and answered with the bin's chosen status, delay and body."""
    return await capture(bin_id, "", request, store, settings)


@router.api_route("/b/{bin_id}/{rest:path}", methods=METHODS, summary="Capture a request on a sub-path",
                  responses=error_responses(404))
async def capture_path(bin_id: BinId, rest: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """The same, for any path below the bin's URL (e.g. /b/<id>/webhooks/stripe)."""
    return await capture(bin_id, rest[:1000], request, store, settings)
