"""The text students read at /docs: the payments service's description and one line per tag."""

DESCRIPTION = """
The webhooks of lecture 06 ("Webhook та подієва архітектура"), live: a small Stripe-like
provider that **pushes** events to the URLs you register, signs every delivery and retries
until your receiver answers 2xx.

### Try it
1. `POST /api/webhook_endpoints` with `{"url": "http://127.0.0.1:8003/b/<bin>", "enabled_events": ["*"]}`
   (a bin of the request inspector) and keep the `secret` it answers.
2. `POST /api/triggers` with `{"event": "payment_intent.succeeded"}` (like `stripe trigger`), or create a
   payment intent and confirm it with a test card: `pm_card_visa` succeeds, `pm_card_chargeDeclined` fails.
3. `GET /api/deliveries` shows every attempt: status code, response time, the next attempt's time.

### Signatures (every delivery)
| header | value |
|---|---|
| `X-Webhook-Signature` | `sha256=<hex HMAC-SHA256(secret, raw body)>`: the lecture's `verify_webhook` checks it |
| `webhook-id` | the event id, the same on every attempt |
| `webhook-timestamp` | Unix seconds of this attempt |
| `webhook-signature` | `v1,<base64 HMAC-SHA256(base64-decoded secret after whsec_, "{id}.{timestamp}.{body}")>` (Standard Webhooks) |
| `X-Hub-Signature-256`, `X-GitHub-Event`, `X-GitHub-Delivery` | on GitHub-like `pull_request` events |

Receivers should reject timestamps more than 5 minutes away from now.

### Retries
A delivery succeeds with a 2xx within the timeout (5 s). Otherwise it is retried after 1 min,
5 min, 15 min and 1 h, times `PAYMENTS_RETRY_TIME_SCALE` (default 1/60: seconds instead of
minutes; `PUT /admin/delivery` changes it at run time). After 5 failed attempts it is
`failed` until you redeliver it (`POST /api/deliveries/{id}/redeliver`). Deliveries are written
to disk before they are sent: a restart loses none.

### Where webhooks may go
Only to loopback (`127.0.0.0/8`, `localhost`, `::1`) and the lab's own hosts
(`PAYMENTS_ALLOWED_HOSTS`): a sender that calls any URL a user types in is an SSRF tool.
Redirects are not followed.

### Idempotency and the flaky switch (ex05)
`POST /api/payment_intents` accepts `Idempotency-Key`: a retry with the same key returns the first
answer and creates nothing. `PUT /admin/flaky` makes the next calls fail on purpose, including
after the payment was created (`500_after_commit`, `timeout`), which only the key makes safe.
"""

TAGS = [
    {"name": "Payment intents", "description": "Stripe-like payments; each change emits an event."},
    {"name": "Refunds", "description": "Money back for a succeeded payment (charge.refunded)."},
    {"name": "Webhook endpoints", "description": "Where events go, with a signing secret each."},
    {"name": "Events", "description": "What happened, resent by hand or triggered on demand."},
    {"name": "Deliveries", "description": "The delivery log: attempts, status codes, times, retries."},
    {"name": "GitHub-like source", "description": "pull_request events signed with X-Hub-Signature-256."},
]
