"""Webhook endpoints: register a URL and its event types, change, delete, read or roll the secret, test attacks."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from labservices.common import ApiError, error_responses
from labservices.common.targets import target_problem

from ..delivery import attack_request, post
from ..deps import ConfigDep, EndpointPath, WorkerDep
from ..models import (AttackCreate, AttackResult, EndpointSecret, SecretRoll, WebhookEndpointCreate,
                      WebhookEndpointPublic, WebhookEndpointsPublic, WebhookEndpointUpdate)
from ..settings import SettingsDep
from ..store import StoreDep

router = APIRouter(prefix="/api/webhook_endpoints", tags=["Webhook endpoints"])


def allowed_url(url: str, allowed_hosts: list[str]) -> str:
    problem = target_problem(url, allowed_hosts)
    if problem:
        raise ApiError(400, "VALIDATION_ERROR", "Некоректні дані запиту", [{"field": "url", "message": problem, "type": "target_refused"}])
    return url


@router.post("", status_code=201, response_model=WebhookEndpointPublic, responses=error_responses(400, 409))
def create_endpoint(body: WebhookEndpointCreate, request: Request, store: StoreDep,
                    settings: SettingsDep) -> JSONResponse:
    """Register a URL for the event types listed ("*" for all); the answer shows its signing secret once."""
    url = allowed_url(body.url, settings.allowed_hosts)
    endpoint = store.create_endpoint(url, body.enabled_events, body.description, body.secret)
    return JSONResponse(endpoint, status_code=201, headers={"Location": f"{request.url.path}/{endpoint['id']}"})


@router.get("", response_model=WebhookEndpointsPublic)
def list_endpoints(store: StoreDep) -> WebhookEndpointsPublic:
    """Every registered endpoint (secrets hidden)."""
    return WebhookEndpointsPublic(data=store.list_endpoints())


@router.get("/{endpoint_id}", response_model=WebhookEndpointPublic, responses=error_responses(400, 404))
def get_endpoint(endpoint_id: EndpointPath, store: StoreDep) -> dict:
    """One endpoint (secret hidden)."""
    return store.get_endpoint(endpoint_id)


@router.patch("/{endpoint_id}", response_model=WebhookEndpointPublic, responses=error_responses(400, 404))
def update_endpoint(endpoint_id: EndpointPath, body: WebhookEndpointUpdate, store: StoreDep,
                    settings: SettingsDep) -> dict:
    """Change the URL, event types, description or status; a disabled endpoint gets no new events."""
    changes = body.model_dump(exclude_unset=True)
    if "url" in changes:
        allowed_url(changes["url"], settings.allowed_hosts)
    return store.update_endpoint(endpoint_id, changes)


@router.delete("/{endpoint_id}", status_code=204, responses=error_responses(400, 404))
def delete_endpoint(endpoint_id: EndpointPath, store: StoreDep) -> Response:
    """Delete an endpoint and its deliveries (pending ones are never sent)."""
    store.delete_endpoint(endpoint_id)
    return Response(status_code=204)


@router.get("/{endpoint_id}/secret", response_model=EndpointSecret, responses=error_responses(400, 404))
def reveal_secret(endpoint_id: EndpointPath, store: StoreDep) -> EndpointSecret:
    """Show the endpoint's signing secret (as Stripe's dashboard reveals it)."""
    return EndpointSecret(secret=store.get_endpoint(endpoint_id, with_secret=True)["secret"])


@router.post("/{endpoint_id}/roll_secret", response_model=WebhookEndpointPublic, responses=error_responses(400, 404))
def roll_secret(endpoint_id: EndpointPath, store: StoreDep, body: SecretRoll | None = None) -> dict:
    """Make a new secret; the old one keeps signing beside it for expires_in_s (default 1 h)."""
    return store.roll_secret(endpoint_id, (body or SecretRoll()).expires_in_s)


@router.post("/{endpoint_id}/simulate_attack", response_model=AttackResult, responses=error_responses(400, 404))
async def simulate_attack(endpoint_id: EndpointPath, body: AttackCreate, store: StoreDep, worker: WorkerDep,
                          config: ConfigDep) -> AttackResult:
    """Send what an attacker would, built from a real event: forged, tampered, stale or re-timestamped, unsigned."""
    def read() -> tuple[dict, dict, list[str]]:
        return store.get_endpoint(endpoint_id), store.get_event(body.event_id), store.signing_secrets(endpoint_id)

    endpoint, event, secrets_ = await asyncio.to_thread(read)  # SQLite: off the shared loop
    guid = event["id"]
    raw, headers = attack_request(body.kind, event, endpoint_id, secrets_, body.age_s, event["source"], guid)
    sent = await post(worker.client, endpoint["url"], raw, headers, config.timeout_s)
    return AttackResult(kind=body.kind, url=endpoint["url"], sent_headers=headers, sent_body=raw.decode(),
                        status_code=sent.status_code, duration_ms=round(sent.duration_ms, 2),
                        response_body=sent.body or None, error=sent.error, accepted=sent.ok)
