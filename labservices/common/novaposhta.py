"""A client of the carrier service's Nova Poshta-shaped API, for every service that ships (shipping, warehouse).

Nova Poshta's API is not REST: every call is ``POST /v2.0/json/`` with ``modelName``,
``calledMethod`` and ``methodProperties``, and a failed call is ``"success": false`` with
``errors`` in a 200 body. ``call`` turns that into Python: the call's ``data``, or
``CarrierUnavailable`` (no answer, 5xx: worth retrying) or ``CarrierRefused`` (the carrier said
no, in the body). A waybill saved with ``InfoRegClientBarcodes`` (your own reference, e.g. the
order id) is the same waybill when the call is repeated, so retrying never makes a second parcel.
"""
from __future__ import annotations

from typing import Any

import httpx

from .client import ServiceClient, TargetRefused
from .declaration import declared

SANDBOX_KEY = "np-lab-key-0000"  # the carrier's only apiKey (shown to students on purpose)


class CarrierUnavailable(Exception):
    """The carrier did not answer, or answered with an HTTP error: try again later."""


class CarrierRefused(Exception):
    """The carrier answered ``success: false``: the request itself is wrong (its ``errors`` say why)."""


async def call(client: ServiceClient, model: str, method: str, properties: dict[str, Any],
               api_key: str = SANDBOX_KEY) -> list[dict[str, Any]]:
    """One call of the carrier's API; its ``data`` when ``success`` is true."""
    try:
        resp = await client.post(f"{declared('carrier').url}/v2.0/json/", json={
            "apiKey": api_key, "modelName": model, "calledMethod": method, "methodProperties": properties})
    except (httpx.HTTPError, TargetRefused) as exc:
        raise CarrierUnavailable(f"the carrier did not answer: {type(exc).__name__}") from None
    if resp.status_code != 200:
        raise CarrierUnavailable(f"the carrier answered {resp.status_code}")
    body = resp.json()
    if not body.get("success"):  # Nova Poshta says so in the body, with HTTP 200
        raise CarrierRefused("; ".join(body.get("errors") or ["success: false"]))
    return body.get("data") or []


async def save_waybill(client: ServiceClient, properties: dict[str, Any], api_key: str = SANDBOX_KEY) -> dict:
    """``InternetDocument.save``: the waybill (``IntDocNumber``, ``EstimatedDeliveryDate``, ``CostOnSite``...)."""
    return (await call(client, "InternetDocument", "save", properties, api_key))[0]


async def track(client: ServiceClient, number: str, api_key: str = SANDBOX_KEY) -> dict:
    """``TrackingDocument.getStatusDocuments`` for one waybill: its ``Status`` and ``StatusCode``."""
    data = await call(client, "TrackingDocument", "getStatusDocuments",
                      {"Documents": [{"DocumentNumber": number}]}, api_key)
    return data[0] if data else {}
