"""The API Gateway: the single entry point of the lecture's diagram, in about two hundred lines.

nginx, Envoy, Traefik or YARP do the same with configuration instead of code: a route table
(prefix → upstream), authentication at the edge, rate limits, upstream health and outlier
ejection, retries and timeouts. Reading this one shows what each of those settings does.
"""
from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ApiError, ServiceSettings, auth, create_app, error_responses
from labservices.common.declaration import Instance
from labservices.common.discovery import NoInstance, Resolver
from labservices.common.http import base_url
from labservices.common.ratelimit import RateLimiter, count
from labservices.common.resilience import Breaker, BreakerOpen, UpstreamError, breakers_router

from . import SERVICE
from .routes import ROUTES, Route, route_for

DESCRIPTION = """The lecture's **API Gateway**: one address for every client, in front of the services.

| prefix | service | token |
|---|---|---|
""" + "\n".join(f"| `{r.prefix}` | {r.service} | " + ("GET without; others with" if r.public_reads else
                ", ".join(f"{m} {p} without" for m, p in sorted(r.public)) + "; the rest with" if r.public else
                "always") + " |" for r in ROUTES) + """

For each request the gateway:

1. finds the route by prefix (`GET /gateway/routes` lists them, with their instances and breakers);
2. checks the JWT from `POST /api/auth/login` (the users service issues it; the gateway verifies the
   signature, `exp`, `iss` and `aud`) and passes who the caller is on as `X-User-Id` and
   `X-User-Role` (whatever a client sent in those headers is dropped);
3. counts the caller against the rate limit (`X-RateLimit-*`, 429 with `Retry-After`);
4. asks the registry for the service's instances and sends the request to the next one in round
   robin, moving on to another if one does not answer (**server-side discovery**);
5. guards each service with its own **circuit breaker** (`GET /admin/breakers`): while one is open
   the gateway answers 503 at once instead of waiting on a service that is failing;
6. passes the trace context on (`traceparent`) and `X-Request-ID`, so one request is one trace.

`GET /api/orders/{id}/details` **aggregates**: the order, the caller's profile, each product and
the shipment, fetched side by side; a part that cannot be had is `null` and named in `unavailable`.
"""

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
# What a client may not tell the services behind the gateway: who it is, and our tracing.
DROPPED_IN = HOP_BY_HOP | {"x-user-id", "x-user-role", "x-user-email", "x-request-id", "traceparent", "tracestate",
                           "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded"}
DROPPED_OUT = HOP_BY_HOP | {"content-encoding", "date", "server", "x-request-id", "traceresponse"}


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    rate_limit: int = Field(300, ge=1, le=100_000, description="Requests per caller per window")
    rate_window_s: int = Field(60, ge=1, le=3600)
    breaker_fail_max: int = Field(5, ge=1, le=100)
    breaker_reset_s: float = Field(10.0, gt=0, le=600)


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"limit": 5, "window_s": 60}]})
    limit: int = Field(ge=1, le=100_000)
    window_s: int = Field(ge=1, le=3600)


class RoutePublic(BaseModel):
    prefix: str
    service: str
    token: str = Field(description="When a JWT is needed")
    timeout_s: float
    breaker: str
    instances: list[dict[str, str]] = Field(description="What the registry says is up now")
    discovery: str = Field(description="registry, or declared when the registry could not be reached")


class OrderDetails(BaseModel):
    order: dict[str, Any]
    customer: dict[str, Any] | None = Field(description="The caller's profile from the users service")
    products: list[dict[str, Any] | None]
    shipment: dict[str, Any] | None = Field(description="null until shipping has heard of the order")
    unavailable: list[str] = Field(description="Services that did not answer: their parts are null")
    took_ms: float


# --- what every routed request goes through ---------------------------------------------------------

def admit(request: Request, route: Route, path: str) -> dict[str, Any] | None:
    """Check the caller's token if the route needs one, and count the caller against the rate limit."""
    claims = None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if route.needs_token(request.method, path):
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "UNAUTHORIZED", "Потрібен заголовок Authorization: Bearer <токен>; отримайте його "
                           "через POST /api/auth/login", headers={"WWW-Authenticate": 'Bearer realm="gateway"'})
        try:
            claims = auth.verify_users_token(token.strip())
        except auth.InvalidToken as exc:
            raise ApiError(401, "UNAUTHORIZED", f"Токен не прийнято: {exc}",
                           headers={"WWW-Authenticate": 'Bearer realm="gateway", error="invalid_token"'}) from None
    caller = f"user:{claims['sub']}" if claims else f"ip:{request.client.host if request.client else 'unknown'}"
    count(request, request.app.state.limiter, caller)
    return claims


def forward_headers(request: Request, claims: dict[str, Any] | None) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in DROPPED_IN]
    client = request.client.host if request.client else "unknown"
    headers += [("X-Forwarded-For", client), ("X-Forwarded-Proto", request.url.scheme),
                ("X-Forwarded-Host", request.headers.get("host", ""))]
    if claims:
        headers += [("X-User-Id", str(claims["sub"])), ("X-User-Role", str(claims.get("role", "customer")))]
    return headers


async def call(request: Request, service: str, method: str, path: str, *, timeout_s: float,
               headers: list[tuple[str, str]], content: bytes = b"") -> httpx.Response:
    """One request to a service through its breaker and the registry; an ApiError when it cannot be had."""
    breaker: Breaker = request.app.state.breakers[service]
    resolver: Resolver = request.app.state.resolver
    try:
        async with breaker.guard():
            resp = await resolver.request(service, method, path, headers=headers, content=content, timeout=timeout_s)
            if resp.status_code >= 500:
                raise UpstreamError(service, resp)
    except UpstreamError as exc:
        return exc.response  # its own error, passed on (and counted against its breaker)
    except BreakerOpen as exc:
        raise ApiError(503, "CIRCUIT_OPEN", f"Сервіс {service} зараз збоїть: шлюз не надсилає йому запитів ще "
                       f"{exc.retry_after} с (circuit breaker)", headers={"Retry-After": str(exc.retry_after)}) from None
    except NoInstance as exc:
        if not exc.tried:
            raise ApiError(503, "NO_INSTANCE", f"Жоден екземпляр {service} не зареєстрований у реєстрі",
                           headers={"Retry-After": "1"}) from None
        if isinstance(exc.last, httpx.TimeoutException):
            raise ApiError(504, "GATEWAY_TIMEOUT", f"{service} не відповів за {timeout_s} с") from None
        raise ApiError(502, "BAD_GATEWAY", f"Жоден екземпляр {service} не відповів ({', '.join(exc.tried)})") from None
    except httpx.TimeoutException:
        raise ApiError(504, "GATEWAY_TIMEOUT", f"{service} не відповів за {timeout_s} с") from None
    except httpx.TransportError as exc:
        raise ApiError(502, "BAD_GATEWAY", f"{service}: {type(exc).__name__}") from None
    return resp


def relay(request: Request, resp: httpx.Response, service: str) -> Response:
    """The service's answer as the client's: hop-by-hop headers dropped, Location pointed at the gateway."""
    out = Response(content=resp.content, status_code=resp.status_code)
    for name, value in resp.headers.multi_items():
        if name.lower() in DROPPED_OUT:
            continue
        if name.lower() == "location":
            upstream = f"{resp.request.url.scheme}://{resp.request.url.netloc.decode()}"
            value = value.replace(upstream, base_url(request), 1)
        out.headers.append(name, value)
    out.headers["X-Upstream"] = resp.extensions.get("lab_instance", service)
    return out


# --- the gateway's own endpoints ---------------------------------------------------------------------

own = APIRouter(tags=["Gateway"])
OrderId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$", description="An order's id (a UUID)")]


@own.get("/gateway/routes", response_model=list[RoutePublic])
async def list_routes(request: Request) -> list[dict]:
    """The route table, with the instances the registry lists for each service and its breaker's state."""
    resolver: Resolver = request.app.state.resolver
    found = await asyncio.gather(*(resolver.instances(r.service) for r in ROUTES))
    out = []
    for route, instances in zip(ROUTES, found):
        token = ("GET without" if route.public_reads else
                 ", ".join(f"{m} {p} without" for m, p in sorted(route.public)) if route.public else "always")
        out.append({"prefix": route.prefix, "service": route.service, "token": token, "timeout_s": route.timeout_s,
                    "breaker": request.app.state.breakers[route.service].state, "instances": instances,
                    "discovery": resolver.source.get(route.service, "registry")})
    return out


@own.get("/api/orders/{order_id}/details", response_model=OrderDetails, responses=error_responses(400, 401, 404, 503))
async def order_details(order_id: OrderId, request: Request) -> dict:
    """Aggregation: one call for the order, the caller's profile, its products and its shipment."""
    path = f"/api/orders/{order_id}/details"
    claims = admit(request, route_for(path), path)
    headers = forward_headers(request, claims)
    started = time.perf_counter()
    resp = await call(request, "orders", "GET", f"/api/orders/{order_id}", timeout_s=5.0, headers=headers)
    if resp.status_code != 200:
        return relay(request, resp, "orders")
    order = resp.json()
    unavailable: list[str] = []

    async def part(service: str, part_path: str) -> dict | None:
        try:
            answer = await call(request, service, "GET", part_path, timeout_s=2.0, headers=headers)
        except ApiError:
            unavailable.append(service)
            return None
        if answer.status_code >= 500:
            unavailable.append(service)
        return answer.json() if answer.status_code == 200 else None

    customer, shipment, *products = await asyncio.gather(
        part("users", "/api/users/me"), part("shipping", f"/api/shipments/{order_id}"),
        *(part("catalog", f"/api/products/{item['sku']}") for item in order.get("items", [])))
    return {"order": order, "customer": customer, "products": products, "shipment": shipment,
            "unavailable": sorted(set(unavailable)), "took_ms": round((time.perf_counter() - started) * 1000, 1)}


@own.put("/admin/rate-limit", response_model=RateLimit, tags=["Lab"], responses=error_responses(400))
async def set_rate_limit(body: RateLimit, request: Request) -> dict:
    """Change the limit per caller now (a notebook shows 429 with a limit of 5)."""
    request.app.state.limiter.configure(body.limit, body.window_s)
    return body.model_dump()


@own.delete("/admin/rate-limit", status_code=204, tags=["Lab"])
async def restore_rate_limit(request: Request) -> Response:
    request.app.state.limiter.restore()
    return Response(status_code=204)


proxy = APIRouter()


@proxy.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                 include_in_schema=False)
async def forward(path: str, request: Request) -> Response:
    """Everything under /api goes to the service its route names."""
    full = "/api/" + path
    route = route_for(full)
    if route is None:
        raise ApiError(404, "NOT_FOUND", f"Шлюз не знає маршруту {full}; маршрути: GET /gateway/routes")
    claims = admit(request, route, full)
    target = full + (f"?{request.url.query}" if request.url.query else "")
    resp = await call(request, route.service, request.method, target, timeout_s=route.timeout_s,
                      headers=forward_headers(request, claims), content=await request.body())
    return relay(request, resp, route.service)


def build_app(instance: Instance | None = None) -> FastAPI:
    """The gateway: no database, a breaker per service, the registry for addresses."""
    settings = Settings.for_instance(instance)
    limiter = RateLimiter(settings.rate_limit, settings.rate_window_s)
    breakers: dict[str, Breaker] = {}

    def reset() -> None:
        limiter.restore()
        for breaker in breakers.values():
            breaker.reset()

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[own, breakers_router(), proxy], reset=reset,
                     openapi_tags=[{"name": "Gateway", "description": "Routes, aggregation."},
                                   {"name": "Resilience", "description": "A circuit breaker per service."}])
    for route in ROUTES:
        breakers.setdefault(route.service, Breaker(route.service, app.state.metrics,
                                                   fail_max=settings.breaker_fail_max,
                                                   reset_timeout=settings.breaker_reset_s))
    app.state.breakers = breakers
    app.state.limiter = limiter
    app.state.resolver = Resolver(app.state.client)
    return app
