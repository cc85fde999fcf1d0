"""What a sandbox adds and a real API would not: its credentials in the open, and a rate-limit switch."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from labservices.common.ratelimit import RateLimiter

from ..auth import ROLE_SCOPES, scopes_of
from ..models import ApiKeyInfo, ClientInfo, Credentials, RateLimitConfig, UserLogin
from ..seed import USERS
from ..settings import SettingsDep
from ..versions import api_version

router = APIRouter()


@router.get("/api/credentials", response_model=Credentials, tags=["Sandbox"], dependencies=[Depends(api_version)])
def list_credentials(request: Request, settings: SettingsDep) -> Credentials:
    """Every API key, OAuth client and seeded user login of this sandbox, with roles and scopes."""
    default_limit, default_window = request.app.state.limiter.default
    keys = [ApiKeyInfo(key=k.key, name=k.name, role=k.role, scopes=scopes_of([k.role]),
                       rate_limit=f"{k.rate_limit or default_limit} per {k.rate_window_s or default_window} s")
            for k in settings.api_keys]
    clients = [ClientInfo(client_id=c.client_id, client_secret=c.client_secret, role=c.role,
                          scopes=scopes_of([c.role]), token_ttl_s=c.token_ttl_s) for c in settings.oauth_clients]
    users = [UserLogin(username=u[1], password=u[11], roles=u[7], active=u[8]) for u in USERS]
    return Credentials(token_url="/oauth/token", api_keys=keys, oauth_clients=clients, users=users, roles=ROLE_SCOPES)


@router.get("/admin/rate-limit", response_model=RateLimitConfig, tags=["Lab"])
def get_rate_limit(request: Request) -> RateLimitConfig:
    """Show the default rate limit now in force."""
    limit, window_s = request.app.state.limiter.default
    return RateLimitConfig(limit=limit, window_s=window_s)


@router.put("/admin/rate-limit", response_model=RateLimitConfig, tags=["Lab"])
def set_rate_limit(config: RateLimitConfig, request: Request) -> RateLimitConfig:
    """Change the default rate limit (e.g. for a load demo); every window starts afresh. In memory only: a restart
    or POST /admin/reset goes back to SHOP_RATE_LIMIT_PER_MINUTE."""
    limiter: RateLimiter = request.app.state.limiter
    limiter.configure(config.limit, config.window_s)
    return config


@router.delete("/admin/rate-limit", status_code=204, tags=["Lab"])
def restore_rate_limit(request: Request) -> Response:
    """Go back to the rate limit from settings (SHOP_RATE_LIMIT_PER_MINUTE per 60 s)."""
    request.app.state.limiter.restore()
    return Response(status_code=204)
