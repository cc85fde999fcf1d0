"""Email through the lab's SMTP server: one stable Message-ID per seed, text and HTML parts."""
from __future__ import annotations

import asyncio
import email

import pytest
from aiosmtpd.controller import Controller

from labkit.procs import free_port
from labservices.common import mail


class Keep:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    handler, port = Keep(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LAB_SMTP_URL", f"smtp://127.0.0.1:{port}")
    yield handler
    controller.stop()


def test_the_same_seed_gives_the_same_message_id_and_only_safe_characters():
    assert mail.message_id("order-42") == mail.message_id("order-42") == "<order-42@integration-lab.local>"
    assert mail.message_id("a b<c>@d") == "<abcd@integration-lab.local>"
    assert mail.message_id("order-42") != mail.message_id("order-43")


def test_send_email_delivers_text_html_and_headers(smtp):
    sent = asyncio.run(mail.send_email("Лаб <lab@example.com>", "olena@example.com", "Привіт", "Текст листа",
                                       seed="camp1.m1", html="<p>Текст</p>", headers={"X-Campaign": "c1"}))
    [got] = smtp.messages
    assert got["Message-ID"] == sent == "<camp1.m1@integration-lab.local>"
    assert got["X-Campaign"] == "c1" and got["To"] == "olena@example.com"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in got.walk() if not p.is_multipart()}
    assert parts["text/plain"].strip() == "Текст листа" and "<p>Текст</p>" in parts["text/html"]


def test_a_refused_connection_is_a_send_error(monkeypatch):
    monkeypatch.setenv("LAB_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(mail.SendError):
        asyncio.run(mail.send_email("a@example.com", "b@example.com", "s", "t", seed="x", timeout=2))


def test_a_message_id_given_in_the_headers_is_kept(smtp):
    sent = asyncio.run(mail.send_email("a@example.com", "b@example.com", "s", "t", seed="ignored",
                                       headers={"Message-Id": "<order-7@shop.example.com>"}))
    assert sent == smtp.messages[0]["Message-ID"] == "<order-7@shop.example.com>"
