"""Warehouse: a warehouse system (WMS) with stock, reservations and waybills, which keeps the shop's stock in step."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="warehouse",
    port=8032,
    title="Warehouse (WMS)",
    teaches="integration practice: the lecture's shop ↔ warehouse sync — stock levels per SKU, reservations "
            "per order (all lines or none; the same order again is the same reservation), waybills created at "
            "the Nova Poshta-shaped carrier when an order ships, and every change of availability pushed to the "
            "shop's catalogue (`PATCH /api/products/{id}` with the shop's API key), retried until the shop takes it",
    about="складська система: залишки, резерви, накладні через перевізника; зміни залишків надсилає в магазин",
    notebooks="08; ex10",
    needs=("shop", "carrier"),
)
