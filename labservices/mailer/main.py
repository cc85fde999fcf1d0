"""The mailer: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI

from fastapi.security import HTTPBasic

from labservices.common import create_app
from labservices.common.declaration import Instance
from labservices.common.openapi import document_security

from . import SERVICE
from .auth import api_key
from .campaigns import Campaigns
from .delivery import Deliverer
from .routes import campaigns, lists, tracking, transactional
from .settings import Settings
from .store import Store

DESCRIPTION = """Email marketing in the shape of Mailchimp's Marketing API 3.0.

Authenticate as Mailchimp does: HTTP Basic with any user name and the API key
`mc-lab-key-0000-us1` as the password. An audience (`/3.0/lists/{list_id}`; the shop's customers
are `a1b2c3d4e5`) has members addressed by `subscriber_hash`, the MD5 of the lower-cased email:
`PUT /3.0/lists/{list_id}/members/{subscriber_hash}` adds or updates one (safe to repeat, the way
a CRM sync calls it). Tags and segments (conditions on tags and merge fields such as `CITY`) pick
who gets a campaign; `POST /3.0/campaigns/{id}/actions/send` sends it over SMTP to the lab's
mailbox. Opening an email (its image), clicking a link or unsubscribing is recorded
(`/3.0/reports/{id}`) and delivered to the audience's webhooks, signed with Standard Webhooks.
Like Mailchimp, creating answers 200, not 201.

One email now, not a campaign (an order confirmation): `POST /api/1.0/messages/send`, in the shape
of Mailchimp Transactional (Mandrill), with the key in the body.
"""


def build_app(instance: Instance | None = None) -> FastAPI:
    """The mailer with its own database and its webhook deliverer."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[lists.router, campaigns.router, tracking.router, transactional.router], reset=store.reset,
                     on_stop=[store.db.close],
                     openapi_tags=[{"name": "Audiences", "description": "Lists, members, tags, segments, webhooks."},
                                   {"name": "Campaigns", "description": "Emails to an audience, and reports."},
                                   {"name": "Tracking", "description": "Links inside the emails."},
                                   {"name": "Transactional", "description": "One email now (Mandrill's API)."}])
    deliverer = Deliverer(store, settings, app.state.client)
    app.state.store, app.state.campaigns, app.state.deliverer = store, Campaigns(store), deliverer
    app.state.workers.append(deliverer.run)
    document_security(app, [HTTPBasic(scheme_name="Basic", description="Any user name, the API key as password")],
                      needs=api_key, required=api_key)
    return app
