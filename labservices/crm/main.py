"""The CRM: its app, built by the host from the declaration in ``__init__.py``."""
from __future__ import annotations

from fastapi import FastAPI

from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPBearer, OAuth2

from labservices.common import create_app
from labservices.common.declaration import Instance
from labservices.common.oauth import token_router
from labservices.common.openapi import document_security

from . import SERVICE
from .routes import contacts, deals
from .settings import ROLE_SCOPES, Settings, require
from .store import Store

DESCRIPTION = """A CRM in the manner of Salesforce: contacts, deals and what happened with each contact.

Like a real CRM it is called by applications, not people: first get a token with OAuth 2.0
client credentials, `POST /services/oauth2/token` with `grant_type=client_credentials`,
`client_id=lab-middleware`, `client_secret=mw-secret` (a read-only client: `crm-reader` /
`reader-secret`), then send `Authorization: Bearer <token>` (it lives an hour).

An integration finds a contact by email (`GET /api/contacts?email=...`) and creates it when it is
not there, or upserts it in one idempotent call (`PUT /api/contacts/by-email/{email}`: 201
created, 200 updated), as Salesforce upserts by an external id. Deals are upserted by the
order's id (`PUT /api/deals/by-external-id/{order_id}`), so a retried workflow never makes a
second deal; activities with an `external_id` are recorded once.
"""


# For /docs: Swagger's «Authorize» fills in a token, or fetches one with client credentials.
SCHEMES = [
    HTTPBearer(scheme_name="Bearer", bearerFormat="JWT", description="A token from POST /services/oauth2/token"),
    OAuth2(scheme_name="OAuth2", description="client_id lab-middleware, client_secret mw-secret",
           flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(
               tokenUrl="/services/oauth2/token", scopes={"read": "Read contacts and deals",
                                                          "write": "Create and change them"}))),
]


def build_app(instance: Instance | None = None) -> FastAPI:
    """The CRM with its own database and its token endpoint."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    token = token_router("/services/oauth2/token", realm="crm", scopes_for=lambda client: ROLE_SCOPES[client.role])
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[token, contacts.router, deals.router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Contacts", "description": "People and companies, found by email."},
                                   {"name": "Deals", "description": "Opportunities, upserted by an external id."}])
    app.state.store = store
    document_security(app, SCHEMES, needs=require.claims, required=require.claims)
    return app
