"""The mailbox: an SMTP server (aiosmtpd) in the host's loop and a Mailpit-like HTTP API over what it got."""
from __future__ import annotations

import asyncio
import html
import logging
from typing import Annotated

from aiosmtpd.smtp import SMTP
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, create_app, error_responses
from labservices.common.brokers import smtp_address, smtp_url
from labservices.common.declaration import Instance, bind_host
from labservices.common.deps import store_of

from . import SERVICE
from .store import Store

log = logging.getLogger("labservices.mailbox")
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO

DESCRIPTION = """The lab's mail server and inbox, like Mailpit: nothing sent here leaves the machine.

Services send email over SMTP (`LAB_SMTP_URL`, default `smtp://127.0.0.1:1025`); the mailbox
keeps each message (one that comes again with the same `Message-ID` is kept once) and shows it:
`GET /api/v1/messages` lists them newest first (`?to=` filters by recipient),
`GET /api/v1/message/{ID}` is one with its text and HTML, `DELETE /api/v1/messages` empties the
box, and `/` is a page to read them in a browser.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MAILBOX_", extra="ignore")


class Address(BaseModel):
    Name: str
    Address: str


class MessageSummary(BaseModel):
    ID: str
    MessageID: str | None
    From: Address
    To: list[Address]
    Subject: str
    Created: str
    Snippet: str
    Size: int
    Read: bool


class MessagesPublic(BaseModel):
    total: int
    unread: int
    count: int
    start: int
    messages: list[MessageSummary]


class MessagePublic(MessageSummary):
    Date: str
    Text: str
    HTML: str
    Raw: str = Field(description="The message exactly as it came over SMTP")


class Handler:
    """aiosmtpd's handler: every message that arrives goes into the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:
        outcome = await asyncio.to_thread(self.store.accept, envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content)
        log.info("message %s", outcome, extra={"mail_from": envelope.mail_from, "rcpt_to": envelope.rcpt_tos})
        return "250 Message accepted for delivery"


def smtp_server(store: Store):
    async def serve_smtp(app: FastAPI) -> None:
        """Worker: the SMTP side, in the host's own event loop."""
        host, port = smtp_address()
        bind = bind_host(host)  # 0.0.0.0 in a container, as the HTTP side
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(Handler(store), hostname="lab-mailbox", data_size_limit=1_000_000), bind, port)
        log.info("SMTP listening on %s", smtp_url())
        try:
            await asyncio.Event().wait()
        finally:
            server.close()
            await server.wait_closed()
    return serve_smtp


router = APIRouter(tags=["Messages"])
StoreDep = Annotated[Store, Depends(store_of)]


@router.get("/api/v1/messages", response_model=MessagesPublic)
def list_messages(store: StoreDep, start: Annotated[int, Query(ge=0, le=100_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  to: Annotated[str | None, Query(max_length=254, description="Part of a recipient's address")] = None,
                  ) -> dict:
    """Messages, newest first (as Mailpit's API lists them)."""
    return store.messages(start, limit, to)


@router.get("/api/v1/message/{message_id}", response_model=MessagePublic, responses=error_responses(404))
def get_message(message_id: Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$")], store: StoreDep) -> dict:
    """One message: headers, text, HTML and the raw SMTP data (marks it read)."""
    return store.message(message_id)


@router.delete("/api/v1/messages", status_code=204)
def delete_messages(store: StoreDep) -> Response:
    """Empty the mailbox."""
    store.delete_all()
    return Response(status_code=204)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(store: StoreDep, request: Request) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(m['Created'])}</td><td>{html.escape(', '.join(t['Address'] for t in m['To']))}</td>"
        f"<td><b>{html.escape(m['Subject'])}</b><br><small>{html.escape(m['Snippet'])}</small></td></tr>"
        for m in store.messages(0, 100, None)["messages"])
    return ("<!doctype html><meta charset=utf-8><title>Lab mailbox</title>"
            "<h1>Скринька лабораторії</h1><p>Листи, надіслані на " + html.escape(smtp_url()) + "</p>"
            "<table border=1 cellpadding=4><tr><th>коли</th><th>кому</th><th>лист</th></tr>" + rows + "</table>")


def build_app(instance: Instance | None = None) -> FastAPI:
    """The mailbox: its database, its SMTP worker and its inbox API."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router], reset=store.reset, on_stop=[store.db.close], workers=[smtp_server(store)],
                     openapi_tags=[{"name": "Messages", "description": "What arrived over SMTP."}])
    app.state.store = store
    return app
