"""Notifications: emails the customer about their order, over SMTP to the lab's mailbox."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="notifications",
    port=8015,
    title="Notifications",
    teaches="event-driven: the lecture's Notification Service — an email for OrderCreated, OrderShipped, "
            "PaymentFailed and OrderCancelled, sent over real SMTP to the lab's mailbox; a stopped notifications "
            "service catches up from its queue when it starts again",
    about="сповіщення: лист клієнтові на OrderCreated, OrderShipped, PaymentFailed (справжній SMTP у mailbox)",
    notebooks="04",
    needs=("rabbitmq", "mailbox"),
)
