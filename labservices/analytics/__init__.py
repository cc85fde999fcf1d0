"""Analytics: a CQRS read model of the shop's statistics, built only from events."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="analytics",
    port=8017,
    title="Analytics (CQRS read model)",
    teaches="event-driven: the lecture's Analytics Service as a CQRS read model — orders per day, revenue, top "
            "products — built only from events (it lags, then is consistent), dropped and rebuilt by replaying the "
            "event history from Kafka",
    about="аналітика: модель читання (CQRS) лише з подій; відстає, потім узгоджується; перебудова з Kafka",
    notebooks="04",
    needs=("rabbitmq", "kafka"),
)
