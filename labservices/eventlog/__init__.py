"""Event log: every event on the bus, appended to Kafka and kept to browse."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="eventlog",
    port=8018,
    title="Event log",
    teaches="event-driven: a bridge that subscribes to every event on the RabbitMQ bus (#) and appends it to the "
            "Kafka topic lab.events (keyed by order), so the history can be replayed; an event browser",
    about="журнал подій: кожна подія шини дописується в топік Kafka lab.events і її видно тут",
    notebooks="04",
    needs=("rabbitmq", "kafka"),
)
