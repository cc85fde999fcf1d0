"""Triggers: the shop's new-order webhook and the mailer's engagement webhook (n8n's "Webhook" nodes)."""
from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from labservices.common import ApiError, error_responses
from labservices.common.context import current_request_id, new_request_id
from labservices.common.deps import ClientDep, from_state
from labservices.common.declaration import declared
from labservices.common.http import LabRouter, base_url

from ..engine import Engine
from ..models import MailerTrigger, NewOrder
from ..settings import SettingsDep
from ..store import StoreDep

router = LabRouter(tags=["Triggers"])
EngineDep = Annotated[Engine, Depends(from_state("engine"))]
Wait = Annotated[bool, Query(description="Answer when the run has finished (at most 30 s), as n8n's "
                                         "'respond when the last node finishes'")]


async def _answer(engine: Engine, request: Request, execution: dict, created: bool, wait: bool) -> JSONResponse:
    if wait:
        await engine.wait(execution["id"], timeout=30)
        execution = await asyncio.to_thread(request.app.state.store.execution, execution["id"])
    location = f"{base_url(request)}/api/executions/{execution['id']}"
    body = {"execution_id": execution["id"], "status": execution["status"], "duplicate": not created,
            "execution": execution}
    return JSONResponse(body, status_code=202 if created and not wait else 200, headers={"Location": location})


@router.post("/webhooks/orders", status_code=202, responses={
    200: {"description": "The order's run: again (duplicate), or finished (?wait=true)"}, **error_responses(400, 415)})
async def new_order(order: NewOrder, request: Request, engine: EngineDep, wait: Wait = False) -> JSONResponse:
    """A new order: run the workflow once per order (202); the same order again runs nothing (200, duplicate)."""
    execution, created = await engine.trigger("new-order", order.model_dump(mode="json"),
                                              current_request_id() or new_request_id())
    return await _answer(engine, request, execution, created, wait)


@router.post("/webhooks/mailer", status_code=202, responses=error_responses(400, 401, 409))
async def mailer_event(request: Request, engine: EngineDep, store: StoreDep) -> JSONResponse:
    """The mailer's signed webhook (opened, clicked...): record it on the contact in the CRM, once."""
    body, headers = await request.body(), {k.lower(): v for k, v in request.headers.items()}
    secrets = await asyncio.to_thread(store.trigger_secrets, "mailer")
    if not secrets:
        raise ApiError(409, "NOT_CONNECTED", "Спершу підключіть розсилку: POST /api/triggers/mailer")
    event = None
    for secret in secrets:
        try:
            event = Webhook(secret).verify(body, headers)
            break
        except (WebhookVerificationError, ValueError, RecursionError):  # another secret's, or signed but not JSON
            continue
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict) or not event["data"].get("email"):
        raise ApiError(401, "INVALID_SIGNATURE", "Підпис вебхука розсилки не збігається (або в ньому немає email)")
    execution, created = await engine.trigger("email-engagement", {"webhook_id": headers["webhook-id"], "event": event},
                                              current_request_id() or new_request_id())
    return await _answer(engine, request, execution, created, False)


@router.post("/api/triggers/mailer", responses=error_responses(400, 415, 502))
async def connect_mailer(body: MailerTrigger, request: Request, client: ClientDep, store: StoreDep,
                         settings: SettingsDep) -> dict:
    """Subscribe to an audience's webhooks at the mailer (as n8n's Mailchimp trigger does); once per audience."""
    hooks_url = f"{declared('mailer').url}/3.0/lists/{body.list_id}/webhooks"
    auth = ("middleware", settings.mailer_api_key)
    own = f"{base_url(request)}/webhooks/mailer"
    known = await asyncio.to_thread(store.trigger, f"mailer:{body.list_id}")
    listed = await client.get(hooks_url, auth=auth)
    if listed.status_code == 404:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту", [
            {"field": "list_id", "message": f"У розсилці немає аудиторії {body.list_id}", "type": "not_found"}])
    if listed.status_code != 200:
        raise ApiError(502, "MAILER_REFUSED", f"Розсилка відповіла {listed.status_code}: {listed.text[:200]}")
    hook = next((h for h in listed.json()["webhooks"] if known and h["id"] == known["external_id"]), None)
    if hook is None:
        resp = await client.post(hooks_url, auth=auth, json={"url": own, "events": {
            "open": True, "click": True, "unsubscribe": True}})
        if resp.status_code != 200:
            raise ApiError(502, "MAILER_REFUSED", f"Розсилка відповіла {resp.status_code}: {resp.text[:200]}")
        hook = resp.json()
        await asyncio.to_thread(store.save_trigger, f"mailer:{body.list_id}", hook["id"], hook["secret"])
    return {"list_id": body.list_id, "webhook_id": hook["id"], "url": hook["url"], "events": hook["events"]}
