"""The request inspector: a local webhook.site that captures, shows, answers and replays requests."""
