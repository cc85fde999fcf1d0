"""Middleware: the lecture's n8n-style integration workflow (new order → CRM → warehouse → payment → email → analytics)."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="middleware",
    port=8034,
    title="Middleware (n8n-style workflows)",
    teaches="integration practice: the lecture's middleware as an n8n-like workflow in Python — a new-order "
            "webhook → find or create the contact in the CRM → a deal → a reservation in the warehouse → the "
            "payment → an email to the customer → an event for analytics; small steps, each retried (tenacity), "
            "a replayed webhook that does nothing twice, a dead-letter list with manual replay from the failed "
            "step, the lecture's structured logs (one request_id and order_id through every step and service), "
            "and the run history step by step like n8n's executions",
    about="інтеграційний middleware у стилі n8n: вебхук замовлення → CRM → склад → оплата → лист → аналітика; "
          "повтори, ідемпотентність, dead letters, історія виконань",
    notebooks="08; ex10",
    needs=("crm", "warehouse", "payments", "mailbox", "mailer", "rabbitmq"),
)
