"""Notebook helpers for webhooks: a receiver in the kernel, waiting for deliveries, the timeline, captured requests."""
from __future__ import annotations

import re

import pytest
import requests
from fastapi import FastAPI, Request

from labkit import webhooks
from tests.inspector.conftest import ins, inspector_url  # noqa: F401  (session fixtures)
from tests.payments.conftest import Pay, pay, payments_url  # noqa: F401


def test_serve_runs_an_app_that_the_payments_service_can_deliver_to(pay: Pay):
    app, got = FastAPI(), []

    @app.post("/webhooks")
    async def hook(request: Request):
        got.append(await request.json())
        return {"status": "success"}

    receiver = webhooks.serve(app)
    hook_ = pay.endpoint(receiver.url + "/webhooks", ["payment_intent.created"])
    try:
        event_id = pay.trigger("payment_intent.created")["events"][0]
        delivery = webhooks.wait_for_delivery(event_id, hook_["id"], base=pay.base)
        assert delivery["status"] == "succeeded" and got[0]["id"] == event_id
        assert repr(receiver).startswith("Receiver(http://127.0.0.1:")
    finally:
        receiver.stop()
        pay.delete(f"/api/webhook_endpoints/{hook_['id']}")


def test_serve_names_itself_by_lab_receiver_host(monkeypatch):
    monkeypatch.setenv("LAB_RECEIVER_HOST", "localhost")
    app = FastAPI()
    app.get("/ping")(lambda: {"pong": True})
    receiver = webhooks.serve(app)
    try:
        assert receiver.url.startswith("http://localhost:")
        assert requests.get(receiver.url + "/ping", timeout=5).json() == {"pong": True}
    finally:
        receiver.stop()


def test_timeline_draws_every_attempt_with_its_outcome(pay: Pay):
    from tests.payments.receiver import Receiver

    target = Receiver().start()
    target.answer(500, 503)
    hook = pay.endpoint(target.url, ["payment_intent.created"])
    try:
        event_id = pay.trigger("payment_intent.created")["events"][0]
        delivery = webhooks.wait_for_delivery(event_id, hook["id"], base=pay.base)
        view = webhooks.timeline(delivery["id"], base=pay.base)
        text, page = repr(view), view._repr_html_()
        assert "[succeeded]" in text.splitlines()[0]
        assert [line.split("→ ")[1].split()[0] for line in text.splitlines()[1:]] == ["500", "503", "200"]
        assert page.count("<circle") == 3 and page.count("#cf222e") >= 2 and "доставлено" in page
        assert re.search(r"\(\+\d+\.\d\d с\)", text.splitlines()[2])  # the gap to the first retry (0.01 s or so)
    finally:
        target.stop()
        pay.delete(f"/api/webhook_endpoints/{hook['id']}")


def test_wait_for_delivery_says_what_it_saw_when_time_runs_out(pay: Pay):
    with pytest.raises(TimeoutError, match="ще не створена"):
        webhooks.wait_for_delivery("evt_neverfired", timeout=0.2, base=pay.base)


def test_captured_shows_a_bins_requests(ins: Pay):
    made = ins.post("/api/bins").json()
    requests.post(made["url"] + "/stripe", json={"id": "evt_1"}, headers={"webhook-id": "evt_1"}, timeout=5)
    view = webhooks.captured(made["id"], at_least=1, base=ins.base)
    assert repr(view).startswith("#1 POST /stripe") and "evt_1" in repr(view)
    assert "<b>webhook-id</b>" in view._repr_html_() and "&quot;evt_1&quot;" in view._repr_html_()
    assert repr(webhooks.CapturedView([])) == "(порожньо)"
    with pytest.raises(TimeoutError, match="отримав 1 запит з 2"):
        webhooks.captured(made["id"], at_least=2, timeout=0.2, base=ins.base)
