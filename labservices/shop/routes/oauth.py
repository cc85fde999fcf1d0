"""POST /oauth/token: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) that issues JWTs.

The grant itself is shared with the CRM (``labservices.common.oauth``); what is the shop's own is
which scopes a client's role grants.
"""
from __future__ import annotations

from labservices.common.oauth import token_router

from ..auth import scopes_of

router = token_router("/oauth/token", realm="shop", scopes_for=lambda client: scopes_of([client.role]))
