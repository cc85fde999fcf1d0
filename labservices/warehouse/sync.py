"""Shop ↔ warehouse sync: every change of a SKU's availability is pushed to the shop's catalogue.

The worker takes what ``shop_sync`` says is pending and calls the shop as its "warehouse-app"
(an API key with the manager role): it finds the shop's product by SKU (the shop's catalogue is
read page by page once and remembered), then ``PATCH /api/products/{id}`` with
``{"in_stock": true|false}``. A shop that is down or answers 5xx/429 is tried again after a pause;
a SKU the shop does not sell is ``not_in_shop``. Only the latest state of a SKU is pushed.
"""
from __future__ import annotations

import asyncio
import logging

import httpx

from labservices.common.client import ServiceClient, TargetRefused
from labservices.common.declaration import declared

from .settings import Settings
from .store import Store

log = logging.getLogger("labservices.warehouse.sync")
POLL_S = 0.5
MAX_PAGES = 50


class ShopSync:
    def __init__(self, store: Store, settings: Settings, client: ServiceClient) -> None:
        self.store, self.settings, self.client = store, settings, client
        self.product_ids: dict[str, int] = {}
        self._bell: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        if self._loop is not None and self._bell is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._bell.set)

    async def run(self, app=None) -> None:
        self._loop, self._bell = asyncio.get_running_loop(), asyncio.Event()
        while True:
            self._bell.clear()
            for row in await asyncio.to_thread(self.store.due):
                await self.push(row["sku"], bool(row["in_stock"]))
            try:
                await asyncio.wait_for(self._bell.wait(), POLL_S)
            except asyncio.TimeoutError:
                pass

    async def push(self, sku: str, in_stock: bool) -> str:
        """Tell the shop; the row's new status (synced, pending again, failed, not_in_shop)."""
        product_id, status, error = None, "synced", None
        try:
            product_id = await self._product_id(sku)
            if product_id is None:
                status = "not_in_shop"
            else:
                resp = await self.client.patch(f"{declared('shop').url}/api/products/{product_id}",
                                               json={"in_stock": in_stock},
                                               headers={"X-API-Key": self.settings.shop_api_key})
                if resp.status_code == 404:
                    self.product_ids.clear()  # the shop's catalogue changed: read it again next time
                    status, error = "pending", "the shop has no such product any more"
                elif resp.status_code >= 500 or resp.status_code == 429:
                    status, error = "pending", f"the shop answered {resp.status_code}"
                elif resp.status_code >= 400:
                    status, error = "failed", f"the shop refused: {resp.status_code} {resp.text[:200]}"
        except (httpx.HTTPError, TargetRefused) as exc:
            status, error = "pending", f"the shop did not answer: {type(exc).__name__}"
        await asyncio.to_thread(self.store.synced, sku, in_stock, status, product_id, error, self.settings.sync_retry_s)
        log.info("stock of %s pushed to the shop: %s", sku, status, extra={
            "sku": sku, "in_stock": in_stock, "sync_status": status, "shop_product_id": product_id, "error": error})
        return status

    async def _product_id(self, sku: str) -> int | None:
        if sku not in self.product_ids:
            await self._read_catalogue()
        return self.product_ids.get(sku)

    async def _read_catalogue(self) -> None:
        found: dict[str, int] = {}
        for page in range(1, MAX_PAGES + 1):
            resp = await self.client.get(f"{declared('shop').url}/api/products", params={"page": page, "per_page": 100})
            if resp.status_code != 200:
                raise httpx.HTTPStatusError(f"the shop answered {resp.status_code}", request=resp.request, response=resp)
            body = resp.json()
            found.update({p["sku"]: p["id"] for p in body["data"]})
            if page >= body["pagination"]["total_pages"]:
                break
        self.product_ids = found
