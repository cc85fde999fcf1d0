"""Orders: event-sourced orders whose domain events reach the bus through an outbox."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="orders",
    port=8010,
    title="Orders",
    teaches="event-driven: event-sourced orders (the eventsourcing library on SQLite: an order is the fold of "
            "its events; its stream and its state at any version over the API); OrderCreated reaches the bus "
            "through a transactional outbox (stop the bus, create orders, start it: nothing is lost); it reacts to "
            "InventoryReserved/Rejected, PaymentProcessed/Failed and OrderShipped",
    about="замовлення з джерелом подій (event sourcing): OrderCreated через outbox, реакції на події інших сервісів",
    notebooks="04, 05; ex06",
    needs=("rabbitmq",),
)
