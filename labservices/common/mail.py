"""Email over SMTP to the lab's mail server (the mailbox service), for every service that writes to people.

Notifications (notebook 04), the mailer's campaigns and the middleware's order confirmations
(notebook 08) send through here, without a thread: aiosmtplib on the shared event loop. A
message's ``Message-ID`` comes from a stable seed (an event id, a campaign and member), so
sending it again after a retry is kept once by the mailbox, as a real mail store de-duplicates.
"""
from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from .brokers import smtp_address

DOMAIN = "integration-lab.local"


class AddressRefused(ValueError):
    """An address SMTP cannot carry (aiosmtplib refuses it before sending): no retry will help."""


# What a caller treats as "the mail server did not take it"; AddressRefused and SMTPRecipientsRefused are
# the recipient's fault, the others the mail server's (worth another try).
SendError = (OSError, aiosmtplib.SMTPException, AddressRefused)
Refused = (AddressRefused, aiosmtplib.SMTPRecipientsRefused)


def message_id(seed: str) -> str:
    """``<seed@integration-lab.local>``: the same seed, the same id (``email.utils.make_msgid`` adds randomness).

    Only the characters a Message-ID may carry are kept.
    """
    return f"<{''.join(c for c in seed if c.isalnum() or c in '._-')[:64] or 'message'}@{DOMAIN}>"


async def send_email(sender: str, recipient: str, subject: str, text: str, *, seed: str, html: str | None = None,
                     headers: dict[str, str] | None = None, timeout: float = 10) -> str:
    """Send one message (plain text, and HTML when given); returns its Message-ID.

    A ``Message-ID`` in ``headers`` (the sender's own, e.g. from an order id) is used as given;
    otherwise it comes from ``seed``.
    """
    headers = dict(headers or {})
    own = next((headers.pop(k) for k in list(headers) if k.lower() == "message-id"), None)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, recipient, subject
    message["Message-ID"] = own or message_id(seed)
    for name, value in headers.items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    host, port = smtp_address()
    try:
        await aiosmtplib.send(message, hostname=host, port=port, timeout=timeout, start_tls=False, use_tls=False)
    except ValueError as exc:  # aiosmtplib checks every address before it connects
        raise AddressRefused(str(exc)) from None
    return message["Message-ID"]
