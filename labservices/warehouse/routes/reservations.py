"""Reservations per order, and shipping them with a waybill from the carrier."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from labservices.common import ApiError, error_responses, novaposhta
from labservices.common.deps import ClientDep, from_state, settings_of
from labservices.common.http import LabRouter, location_of

from ..models import OrderId, ReservationCreate, ReservationPublic, Shipment
from ..settings import Settings
from ..store import StoreDep
from ..sync import ShopSync

router = LabRouter(prefix="/api", tags=["Reservations"])
SyncDep = Annotated[ShopSync, Depends(from_state("sync"))]
SettingsDep = Annotated[Settings, Depends(settings_of)]
OrderPath = Annotated[OrderId, Path()]


@router.post("/reservations", status_code=201, response_model=ReservationPublic,
             responses={200: {"model": ReservationPublic, "description": "This order is already reserved"},
                        **error_responses(400, 409, 415)})
def reserve(body: ReservationCreate, request: Request, store: StoreDep, sync: SyncDep) -> JSONResponse:
    """Hold stock for an order, all lines or none (201); the same order again answers its reservation (200)."""
    reservation, created = store.reserve(body.order_id, [line.model_dump() for line in body.items])
    sync.wake()
    return JSONResponse(reservation, status_code=201 if created else 200,
                        headers={"Location": location_of(request)(body.order_id)})


@router.get("/reservations/{order_id}", response_model=ReservationPublic, responses=error_responses(400, 404))
def get_reservation(order_id: OrderPath, store: StoreDep) -> dict:
    """One order's reservation."""
    return store.reservation(order_id)


@router.delete("/reservations/{order_id}", response_model=ReservationPublic, responses=error_responses(400, 404, 409))
def release(order_id: OrderPath, store: StoreDep, sync: SyncDep) -> dict:
    """Give the stock back (a cancelled order): the reservation is ``released``."""
    reservation = store.release(order_id)
    sync.wake()
    return reservation


@router.post("/reservations/{order_id}/ship", response_model=ReservationPublic,
             responses=error_responses(400, 404, 409, 415, 502))
async def ship(order_id: OrderPath, body: Shipment, store: StoreDep, sync: SyncDep, client: ClientDep,
               settings: SettingsDep) -> dict:
    """Create the waybill at the carrier (the order id is its client barcode: repeating makes no second parcel)."""
    reservation = await run_in_threadpool(store.to_ship, order_id)
    if reservation["status"] == "shipped":
        return reservation
    recipient = body.recipient
    props = {"CityRecipient": recipient.city, "RecipientAddress": recipient.warehouse, "RecipientName": recipient.name,
             "RecipientsPhone": recipient.phone, "Weight": str(sum(i["quantity"] for i in reservation["items"])),
             "Cost": "0", "InfoRegClientBarcodes": order_id}
    try:
        waybill = await novaposhta.save_waybill(client, props, settings.carrier_api_key)
    except novaposhta.CarrierUnavailable as exc:
        raise ApiError(502, "CARRIER_UNAVAILABLE", f"Перевізник не відповів: {exc}") from None
    except novaposhta.CarrierRefused as exc:
        raise ApiError(502, "CARRIER_REFUSED", f"Перевізник відмовив: {exc}") from None
    shipped = await run_in_threadpool(store.shipped, order_id, waybill["IntDocNumber"],
                                      waybill.get("EstimatedDeliveryDate"))
    sync.wake()
    return shipped


@router.get("/waybills/{number}", responses=error_responses(400, 502))
async def track(number: Annotated[str, Path(pattern=r"^[0-9]{14}$")], client: ClientDep, settings: SettingsDep) -> dict:
    """Where the parcel is, asked of the carrier (TrackingDocument.getStatusDocuments)."""
    try:
        status = await novaposhta.track(client, number, settings.carrier_api_key)
    except (novaposhta.CarrierUnavailable, novaposhta.CarrierRefused) as exc:
        raise ApiError(502, "CARRIER_UNAVAILABLE", f"Перевізник не відповів: {exc}") from None
    return {"number": number, "status": status.get("Status"), "status_code": status.get("StatusCode"),
            "city": status.get("CityRecipient")}
