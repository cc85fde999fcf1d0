"""The warehouse: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI

from labservices.common import create_app
from labservices.common.declaration import Instance

from . import SERVICE
from .routes import reservations, stock
from .settings import Settings
from .store import Store
from .sync import ShopSync

DESCRIPTION = """A warehouse system (WMS): stock, reservations, waybills — and the shop kept in step.

`POST /api/reservations` holds stock for an order, all lines or none (409 `INSUFFICIENT_STOCK`
with a detail per SKU); the same order again answers its reservation, so a retried call holds
nothing twice. `POST /api/reservations/{order_id}/ship` creates a waybill at the carrier (Nova
Poshta's API shape; the order id is the client barcode, so repeating it makes no second parcel).

Whenever a SKU runs out or comes back, the warehouse tells the shop (`PATCH /api/products/{id}`
with `{"in_stock": ...}`, as the shop's "warehouse-app" API key); `GET /api/sync/shop` shows what
was pushed, what is still retrying and what the shop does not sell.
"""


def build_app(instance: Instance | None = None) -> FastAPI:
    """The warehouse with its own database and its shop sync worker."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[stock.router, reservations.router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Stock", "description": "Stock levels and the shop sync."},
                                   {"name": "Reservations", "description": "Stock held for orders; waybills."}])
    sync = ShopSync(store, settings, app.state.client)
    app.state.store, app.state.sync = store, sync
    app.state.workers.append(sync.run)
    return app
