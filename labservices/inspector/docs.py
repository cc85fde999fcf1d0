"""The text students read at /docs: the inspector's description and one line per tag."""

DESCRIPTION = """
A local **webhook.site**: make a bin, point a webhook (or anything) at its URL, and see exactly
what arrived: method, path, headers, body and time. Use it before you write your own receiver.

1. `POST /api/bins` → `{"id", "url": "http://127.0.0.1:8003/b/<id>", ...}`
2. Register that URL at the payments service (`POST /api/webhook_endpoints`) or send it anything.
3. `GET /api/bins/{id}/requests` lists what arrived, oldest first (`?since=N` for new ones only).
4. `PUT /api/bins/{id}/response` with `{"status": 500}` or `{"delay_ms": 8000}` to play a broken or
   slow receiver and watch the sender retry.
5. `POST /api/bins/{id}/requests/{n}/replay` with `{"url": ...}` resends a captured request byte for
   byte, as ngrok's inspector does, e.g. to your own receiver once it is written.

Each bin keeps its last 100 requests; bodies beyond 64 KiB are cut (and cannot be replayed).
A body that is JSON nested more than 64 deep is shown as text only (`json` is null).

### Where a replay may go
To loopback (`127.0.0.1`, `localhost`, `::1`, any port) and to the lab's own host names under
docker compose; any other address is refused with 400 (the SSRF guard), and redirects are
never followed. The answer (status, headers, the first 10,000 characters of the body) comes back
to you, which is what lets you see your own receiver's reply. On your own machine that reaches no
further than you already can; it is also why the inspector listens on 127.0.0.1 only (compose
publishes it as `127.0.0.1:8003`): do not expose it beyond this machine, or whoever reaches it
can read any loopback service through a replay.
"""

TAGS = [
    {"name": "Bins", "description": "Create bins, read captured requests, choose the answer, replay."},
    {"name": "Capture", "description": "The bin's URL: every request to it is captured."},
]
