"""Inventory: stock per SKU; reserves it for new orders and releases it for cancelled ones, over the event bus."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="inventory",
    port=8011,
    title="Inventory",
    teaches="event-driven: a subscriber to OrderCreated that reserves stock (InventoryReserved / InventoryRejected) "
            "and releases it on OrderCancelled; its own queue, an inbox (each event once), retries and dead letters",
    about="склад: резервує товар на подію OrderCreated і звільняє на OrderCancelled",
    notebooks="04; ex06",
    needs=("rabbitmq",),
)
