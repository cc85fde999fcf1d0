"""Billing: the lecture's Payment Service, charging orders at the Stripe-like payments service."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="billing",
    port=8012,
    title="Billing",
    teaches="event-driven: the lecture's Payment Service — on OrderCreated it creates a payment intent at the "
            "payments service (Idempotency-Key = the event id), learns the result from its signed webhook "
            "(Standard Webhooks) and publishes PaymentProcessed / PaymentFailed; it refunds cancelled orders",
    about="платіжний сервіс лекції: на OrderCreated створює платіж у payments, з вебхука публікує PaymentProcessed",
    notebooks="04, 05",
    needs=("rabbitmq", "payments"),
)
