"""Stock levels, and what the shop has been told about them."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from labservices.common import error_responses
from labservices.common.deps import from_state
from labservices.common.http import LabRouter

from ..models import Sku, StockPublic, StockUpdate, SyncPublic
from ..store import StoreDep
from ..sync import ShopSync

router = LabRouter(prefix="/api", tags=["Stock"])
SyncDep = Annotated[ShopSync, Depends(from_state("sync"))]


@router.get("/stock", response_model=list[StockPublic])
def list_stock(store: StoreDep) -> list[dict]:
    """Every SKU: on hand, reserved, available."""
    return store.stock()


@router.get("/stock/{sku}", response_model=StockPublic, responses=error_responses(400, 404))
def get_stock(sku: Annotated[Sku, Path()], store: StoreDep) -> dict:
    """One SKU's stock."""
    return store.item(sku)


@router.put("/stock/{sku}", response_model=StockPublic, responses=error_responses(400, 404, 409, 415))
def set_stock(sku: Annotated[Sku, Path()], body: StockUpdate, store: StoreDep, sync: SyncDep) -> dict:
    """Set what is on the shelves (a count, a delivery); the shop hears when availability flips."""
    item = store.set_on_hand(sku, body.on_hand)
    sync.wake()
    return item


@router.get("/sync/shop", response_model=list[SyncPublic])
def sync_status(store: StoreDep) -> list[dict]:
    """What the shop has been told, per SKU, newest first: synced, pending (retrying), failed, not_in_shop."""
    return store.sync_rows()


@router.post("/sync/shop", status_code=202, responses=error_responses(400))
def resync(store: StoreDep, sync: SyncDep) -> dict:
    """Push every SKU's availability to the shop again (a full sync)."""
    queued = store.resync_all()
    sync.wake()
    return {"queued": queued}
