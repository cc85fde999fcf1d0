"""The mailbox: real SMTP in, a Mailpit-like API out."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from labservices.common.brokers import smtp_address
from tests.events.conftest import Flow, wait_for


def send(to: str, subject: str, message_id: str | None = None) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Тест <test@example.com>", to, subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("Привіт з тесту!\nДругий рядок.")
    with smtplib.SMTP(*smtp_address(), timeout=5) as smtp:
        smtp.send_message(message)


def test_a_message_sent_over_smtp_is_listed_and_read(flow: Flow):
    send("reader@example.com", "Тема листа")
    listed = wait_for(lambda: flow.get("mailbox", "/api/v1/messages", params={"to": "reader@"}).json()["messages"],
                      what="the message")
    assert listed[0]["Subject"] == "Тема листа" and listed[0]["To"][0]["Address"] == "reader@example.com"
    assert listed[0]["Read"] is False and listed[0]["Snippet"].startswith("Привіт з тесту!")
    full = flow.get("mailbox", f"/api/v1/message/{listed[0]['ID']}").json()
    assert "Другий рядок." in full["Text"] and "Subject:" in full["Raw"]
    assert flow.get("mailbox", "/api/v1/messages", params={"to": "reader@"}).json()["messages"][0]["Read"] is True


def test_a_message_sent_twice_with_one_message_id_is_kept_once(flow: Flow):
    for _ in range(2):
        send("twice@example.com", "Двічі", message_id="<same-id@test>")
    wait_for(lambda: flow.get("mailbox", "/api/v1/messages", params={"to": "twice@"}).json()["total"] == 1,
             what="one message")
    assert flow.get("mailbox", "/api/v1/messages", params={"to": "twice@"}).json()["total"] == 1


def test_unknown_message_is_404_and_the_page_shows_the_inbox(flow: Flow):
    assert flow.get("mailbox", "/api/v1/message/ffffffff").status_code == 404
    page = flow.get("mailbox", "/")
    assert page.status_code == 200 and "Скринька лабораторії" in page.text
