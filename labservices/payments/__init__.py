"""The payments service: a small Stripe-like provider that signs, sends and retries webhooks."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="payments",
    port=8002,
    title="Payments and webhooks",
    teaches="webhooks: a Stripe-like provider that signs every delivery (the lecture's `X-Webhook-Signature`, "
            "Standard Webhooks, GitHub's `X-Hub-Signature-256`), retries on the lecture's schedule (1 min, 5 min, "
            "15 min, 1 h; compressed for class), keeps a delivery log, redelivers by hand; payment intents with "
            "`Idempotency-Key`",
    about="платіжний сервіс на кшталт Stripe: підписані вебхуки, повторні спроби за розкладом лекції",
    notebooks="03; ex04, ex05",
)
