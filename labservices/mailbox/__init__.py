"""Mailbox: the lab's mail server (SMTP, aiosmtpd) and an inbox to read over HTTP, like Mailpit."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="mailbox",
    port=8016,
    title="Mailbox (SMTP + inbox API, like Mailpit)",
    teaches="a real SMTP server (aiosmtpd) that keeps every message sent to it and shows it over a Mailpit-like "
            "HTTP API and page: the email side of notifications, without sending anything anywhere. SMTP: "
            "`LAB_SMTP_URL` (default smtp://127.0.0.1:1025)",
    about="поштовий сервер лабораторії (SMTP) і скринька, яку читають через HTTP, як Mailpit",
    notebooks="04, 08",
    extra_ports={"smtp": 1025},
)
