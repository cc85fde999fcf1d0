"""The links inside each email: the open pixel, tracked clicks, unsubscribe (no API key: members use them)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from labservices.common import error_responses
from labservices.common.deps import from_state

from ..campaigns import PIXEL, Campaigns
from ..delivery import Deliverer

router = APIRouter(prefix="/t", tags=["Tracking"])
CampaignsDep = Annotated[Campaigns, Depends(from_state("campaigns"))]
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{8,40}$")]


DelivererDep = Annotated[Deliverer, Depends(from_state("deliverer"))]


async def _track(campaigns: Campaigns, deliverer: Deliverer, token: str, action: str, link: int | None = None):
    url = await run_in_threadpool(campaigns.track, token, action, link)
    deliverer.wake()  # the webhooks of this event are due now
    return url


@router.get("/o/{token}.gif", response_class=Response, responses=error_responses(404))
async def opened(token: Token, campaigns: CampaignsDep, deliverer: DelivererDep) -> Response:
    """The 1×1 image an email client fetches when the email is opened: records an open."""
    await _track(campaigns, deliverer, token, "open")
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


@router.get("/c/{token}/{link}", response_class=RedirectResponse, status_code=302, responses=error_responses(404))
async def clicked(token: Token, link: Annotated[int, Path(ge=0, le=1000)], campaigns: CampaignsDep,
                  deliverer: DelivererDep) -> RedirectResponse:
    """A tracked link: records a click, then 302 to the address written in the campaign."""
    return RedirectResponse(await _track(campaigns, deliverer, token, "click", link), status_code=302)


@router.get("/u/{token}", response_class=HTMLResponse, responses=error_responses(404))
async def unsubscribe(token: Token, campaigns: CampaignsDep, deliverer: DelivererDep) -> str:
    """Unsubscribe from the audience (the member's status becomes ``unsubscribed``)."""
    await _track(campaigns, deliverer, token, "unsubscribe")
    return "<!doctype html><meta charset=utf-8><title>Відписка</title><p>Вас відписано від розсилки.</p>"
