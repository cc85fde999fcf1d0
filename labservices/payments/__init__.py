"""The payments service: a small Stripe-like provider that signs, sends and retries webhooks."""
