"""Campaigns (``/3.0/campaigns``): create, add content, send over SMTP; reports of opens and clicks."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from labservices.common import ApiError, error_responses
from labservices.common.deps import from_state
from labservices.common.http import LabRouter, base_url
from labservices.common.mail import Refused, SendError, send_email

from ..auth import api_key
from ..campaigns import Campaigns, letter
from ..models import CampaignContent, CampaignCreate, CampaignId
from ..settings import SettingsDep

log = logging.getLogger("labservices.mailer")
router = LabRouter(tags=["Campaigns"], dependencies=[Depends(api_key)])
CampaignsDep = Annotated[Campaigns, Depends(from_state("campaigns"))]
IdPath = Annotated[CampaignId, Path()]


@router.get("/3.0/campaigns", responses=error_responses(401))
def list_campaigns(campaigns: CampaignsDep) -> dict:
    """Campaigns, newest first."""
    rows = campaigns.list()
    return {"campaigns": rows, "total_items": len(rows)}


@router.post("/3.0/campaigns", responses=error_responses(400, 401, 404, 415))
def create_campaign(body: CampaignCreate, campaigns: CampaignsDep) -> dict:
    """A regular campaign to an audience or one of its segments (status ``save`` until sent)."""
    return campaigns.create(body.model_dump())


@router.get("/3.0/campaigns/{campaign_id}", responses=error_responses(401, 404))
def get_campaign(campaign_id: IdPath, campaigns: CampaignsDep) -> dict:
    """One campaign: status, recipients, emails sent."""
    return campaigns.get(campaign_id)


@router.put("/3.0/campaigns/{campaign_id}/content", responses=error_responses(400, 401, 404, 409, 415))
def set_content(campaign_id: IdPath, body: CampaignContent, campaigns: CampaignsDep) -> dict:
    """The letter: plain text and/or HTML; ``*|FNAME|*`` and other merge tags are filled in per member."""
    return campaigns.set_content(campaign_id, body.plain_text, body.html)


@router.post("/3.0/campaigns/{campaign_id}/actions/send", status_code=204,
             responses=error_responses(400, 401, 404, 409, 502))
async def send_campaign(campaign_id: IdPath, request: Request, campaigns: CampaignsDep,
                        settings: SettingsDep) -> Response:
    """Send now: one email per subscribed recipient, over SMTP to the lab's mailbox (204 when all are out)."""
    campaign, letters = await run_in_threadpool(campaigns.start_sending, campaign_id, settings.max_recipients)
    content = await run_in_threadpool(lambda: campaigns.content(campaign_id))
    defaults, options = campaign["defaults"], campaign["settings"]
    sender = f"{options.get('from_name') or defaults['from_name']} <{defaults['from_email']}>"
    sent = 0
    try:
        for recipient in letters:
            text, html = letter(campaign, content, recipient, base_url(request))
            try:
                await send_email(sender, recipient["email"], options["subject_line"], text, html=html,
                                 seed=f"{campaign_id}.{recipient['member_id']}", headers={"X-Campaign-Id": campaign_id})
            except Refused:  # an address the mail server will not take: the others still get theirs
                log.warning("recipient refused", extra={"campaign_id": campaign_id, "email": recipient["email"]})
                continue
            sent += 1
    except SendError as exc:
        raise ApiError(502, "SMTP_UNAVAILABLE", f"Поштовий сервер не прийняв лист: {type(exc).__name__}") from None
    finally:
        await run_in_threadpool(campaigns.finish_sending, campaign_id, sent)
    log.info("campaign sent", extra={"campaign_id": campaign_id, "emails_sent": sent})
    return Response(status_code=204)


@router.get("/3.0/reports/{campaign_id}", responses=error_responses(401, 404))
def report(campaign_id: IdPath, campaigns: CampaignsDep) -> dict:
    """Emails sent, unique opens and clicks and their rates, unsubscribes."""
    return campaigns.report(campaign_id)


@router.get("/3.0/reports/{campaign_id}/email-activity", responses=error_responses(401, 404))
def email_activity(campaign_id: IdPath, campaigns: CampaignsDep) -> dict:
    """Every open, click and unsubscribe, in order."""
    return {"campaign_id": campaign_id, "emails": campaigns.email_activity(campaign_id)}
