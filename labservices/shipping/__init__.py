"""Shipping: ships an order once its stock is reserved and it is paid, whichever comes first."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="shipping",
    port=8013,
    title="Shipping",
    teaches="event-driven: waits for both InventoryReserved and PaymentProcessed (in any order, duplicates "
            "harmless), then creates a waybill at the Nova Poshta-shaped carrier API and publishes OrderShipped; "
            "a carrier that is down is retried with delays; for an orchestrated saga, POST /api/shipments ships now",
    about="доставка: чекає на InventoryReserved і PaymentProcessed (у будь-якому порядку), створює накладну",
    notebooks="04, 05",
    needs=("rabbitmq", "carrier"),
)
