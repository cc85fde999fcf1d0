"""Transactional email in the shape of Mailchimp Transactional (Mandrill): ``POST /api/1.0/messages/send``.

Not a campaign to an audience: one message, sent now, to the people named (an order confirmation).
As in Mandrill, the API key travels in the body (``key``). A ``Message-Id`` header chosen by the
caller (from the order id, say) makes a retried send land once in the mailbox.
"""
from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from labservices.common import ApiError, error_responses
from labservices.common.http import LabRouter
from labservices.common.mail import Refused, SendError, send_email

from ..models import TransactionalSend

router = LabRouter(tags=["Transactional"])


@router.post("/api/1.0/messages/send", responses=error_responses(400, 401, 415, 502))
async def send_message(body: TransactionalSend, request: Request) -> list[dict]:
    """Send one message to each recipient now; one result per recipient (status ``sent``)."""
    if not hmac.compare_digest(body.key.encode(), request.app.state.settings.api_key.encode()):
        raise ApiError(401, "INVALID_API_KEY", "Невідомий API-ключ (у Mandrill ключ передають у тілі: key)")
    message = body.message
    sender = f"{message.from_name} <{message.from_email}>" if message.from_name else message.from_email
    results = []
    for recipient in message.to:
        try:
            sent = await send_email(sender, recipient.email, message.subject, message.text, html=message.html,
                                    seed=f"tx.{secrets.token_hex(8)}", headers=message.headers)
        except Refused:  # an address the mail server would not take: said per recipient, as Mandrill does
            results.append({"email": recipient.email, "status": "rejected", "_id": None, "reject_reason": "invalid"})
            continue
        except SendError as exc:
            raise ApiError(502, "SMTP_UNAVAILABLE", f"Поштовий сервер не прийняв лист: {type(exc).__name__}") from None
        results.append({"email": recipient.email, "status": "sent", "_id": sent.strip("<>"), "reject_reason": None})
    return results
