"""ex12: a consumer-driven contract. The student describes, with pact-python, what a shop client needs.

The student writes ``describe_product`` and ``describe_order``: Pact interactions for the two calls
of a given storefront client (``get_product``, ``create_order``), with matchers for what the client
reads. The given ``write_pact`` runs the real client against Pact's mock server for each and
returns the pact file. The checker then does what a provider's CI does: it verifies the pact
against the real shop (it must pass) and against the shop behind a proxy that breaks it in one
way a provider might by accident (a price sent as text, a field dropped, 200 instead of 201, no
``Location``): each break the contract catches is worth points, but only if the contract also
passes against the real shop (a contract that fails everything catches nothing).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import httpx

from ..appserver import AppServer
from ..exercise import Check, CheckFailed, Context, Exercise, expect, short
from ..student import StudentError

SERVICES = ("shop",)
CONSUMER, PROVIDER = "shop-storefront", "shop"
STATES = ("product 1 exists", "customer 123 exists")
BREAKS = {
    "price_as_text": "ціна товару приходить рядком \"45000.00\", а не числом",
    "no_in_stock": "у товарі немає поля in_stock",
    "order_200": "створене замовлення — 200 замість 201",
    "no_location": "у відповіді 201 немає заголовка Location",
}


def broken_shop(upstream: str, mode: str):
    """An ASGI app: the real shop behind a proxy that breaks one promise (``mode``)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.request(request.method, upstream + request.url.path, params=request.query_params,
                                        content=await request.body(), headers=headers)
        body, status = resp.content, resp.status_code
        out_headers = {k: v for k, v in resp.headers.items()
                       if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")}
        if request.url.path.startswith("/api/products/") and status == 200:
            product = resp.json()
            if mode == "price_as_text":
                product["price"] = f"{product['price']:.2f}"
            if mode == "no_in_stock":
                product.pop("in_stock", None)
            body = json.dumps(product, ensure_ascii=False).encode()
        if request.url.path == "/api/orders" and request.method == "POST" and status == 201:
            if mode == "order_200":
                status = 200
            if mode == "no_location":
                out_headers = {k: v for k, v in out_headers.items() if k.lower() != "location"}
        return Response(body, status_code=status, headers=out_headers)

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


def written(ctx: Context) -> dict:
    """What the student's ``write_pact()`` produced: the pact and which descriptions are still missing."""
    if "ex12_pact" not in ctx.scratch:
        got = ctx.call("write_pact")
        expect(isinstance(got, dict) and isinstance(got.get("pact"), dict),
               "write_pact(): {'pact': {...}, 'missing': [...]}", short(got))
        ctx.scratch["ex12_pact"] = got
    return ctx.scratch["ex12_pact"]


def interactions(ctx: Context, name: str) -> list[dict]:
    got = written(ctx)
    if name in got.get("missing", []):
        raise StudentError("not_implemented", name)
    if name in got.get("failed", {}):
        raise CheckFailed("клієнт і контракт збігаються на mock-сервері Pact", got["failed"][name][:300],
                          f"Mock-сервер Pact не отримав того, що описує {name} (або отримав інше).")
    return got["pact"].get("interactions", [])


def _request(interaction: dict) -> tuple[str, str]:
    request = interaction.get("request", {})
    return request.get("method", "").upper(), request.get("path", "")


def verify(ctx: Context, mode: str | None) -> tuple[bool, str]:
    """Verify the student's pact against the real shop (``mode`` None) or a broken one; (passed, output)."""
    key = f"ex12_verified:{mode}"
    if key in ctx.scratch:
        return ctx.scratch[key]
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    from pact import Verifier

    server = AppServer(broken_shop(ctx.url("shop"), mode)).start() if mode else None
    target = server.url if server else ctx.url("shop")
    folder = Path(tempfile.mkdtemp(prefix="ex12-"))
    try:
        (folder / f"{CONSUMER}-{PROVIDER}.json").write_text(json.dumps(written(ctx)["pact"]))

        def state(state: str, action: str, parameters: dict | None) -> None:
            if state not in STATES:  # the shop's seed data holds exactly these
                raise ValueError(f"unknown provider state {state!r}")

        verifier = (Verifier(PROVIDER, host="127.0.0.1").add_transport(url=target).add_source(str(folder))
                    .state_handler(state, teardown=False).set_error_on_empty_pact(enabled=True))
        try:
            verifier.verify()
            outcome = (True, "")
        except RuntimeError:
            outcome = (False, str(verifier.output(strip_ansi=True))[-1500:])
    finally:
        if server:
            server.stop()
    ctx.scratch[key] = outcome
    return outcome


def honest(ctx: Context) -> None:
    """The contract must pass against the real shop before catching a broken one counts."""
    passed, output = verify(ctx, None)
    expect(passed, "контракт проходить перевірку на справжньому магазині", output[-300:] or "не пройшов")


def catches(ctx: Context, described: str, mode: str) -> None:
    interactions(ctx, described)
    honest(ctx)
    passed, _ = verify(ctx, mode)
    expect(not passed, f"перевірка падає, коли {BREAKS[mode]}", "контракт цього не помітив")


# --- checks ---------------------------------------------------------------------------


def check_product(ctx: Context) -> None:
    found = [i for i in interactions(ctx, "describe_product") if _request(i) == ("GET", "/api/products/1")]
    expect(found, "взаємодія GET /api/products/1", short([_request(i) for i in written(ctx)["pact"]["interactions"]]))
    states = [s.get("name") for s in found[0].get("providerStates", [])]
    expect("product 1 exists" in states, "стан провайдера 'product 1 exists'", short(states))
    expect(found[0].get("response", {}).get("status") == 200, "відповідь 200", short(found[0].get("response")))


def check_order(ctx: Context) -> None:
    found = [i for i in interactions(ctx, "describe_order") if _request(i) == ("POST", "/api/orders")]
    expect(found, "взаємодія POST /api/orders", short([_request(i) for i in written(ctx)["pact"]["interactions"]]))
    expect(found[0].get("response", {}).get("status") == 201, "відповідь 201", short(found[0].get("response")))


def check_verified(ctx: Context) -> None:
    interactions(ctx, "describe_product")
    interactions(ctx, "describe_order")
    honest(ctx)


EXERCISE = Exercise(
    id="ex12",
    title="Контрактний тест клієнта магазину (Pact)",
    services=SERVICES,
    checks=[
        Check("ex12.product", 2, "the pact has GET /api/products/1 given 'product 1 exists', answered 200",
              "pact.upon_receiving(...).given('product 1 exists').with_request('GET', '/api/products/1')"
              ".will_respond_with(200).with_body({...}, content_type='application/json').",
              check_product, ("write_pact", "describe_product")),
        Check("ex12.order", 2, "the pact has POST /api/orders with its body and key, answered 201",
              ".with_request('POST', '/api/orders').with_header('X-API-Key', ...).with_body({...})"
              ".will_respond_with(201).",
              check_order, ("write_pact", "describe_order")),
        Check("ex12.verified", 4, "the pact verifies against the real shop",
              "Описуйте те, що магазин справді віддає: id=1, ціну числом, in_stock; заголовок Location "
              "звіряйте регулярним виразом (match.regex), бо адреса в нього повна і номер щоразу інший.",
              check_verified, ("write_pact", "describe_product", "describe_order"), SERVICES),
        Check("ex12.price_type", 2, "the pact fails against a shop that sends the price as text",
              "Не вимагайте точне значення ціни, але й не пропускайте тип: match.number(45000) (або match.like).",
              lambda ctx: catches(ctx, "describe_product", "price_as_text"), ("write_pact", "describe_product"),
              SERVICES),
        Check("ex12.missing_field", 2, "the pact fails against a shop that drops in_stock",
              "Клієнт читає in_stock — отже, воно має бути в тілі відповіді контракту (match.boolean(True)).",
              lambda ctx: catches(ctx, "describe_product", "no_in_stock"), ("write_pact", "describe_product"),
              SERVICES),
        Check("ex12.status", 2, "the pact fails against a shop that answers 200 instead of 201",
              "Очікуйте саме .will_respond_with(201): клієнт перевіряє цей статус.",
              lambda ctx: catches(ctx, "describe_order", "order_200"), ("write_pact", "describe_order"), SERVICES),
        Check("ex12.location", 2, "the pact fails against a shop that leaves out Location",
              "Клієнт читає заголовок Location: .with_header('Location', match.regex(..., regex=r'.*/api/orders/\\d+$')) "
              "після will_respond_with(201).",
              lambda ctx: catches(ctx, "describe_order", "no_location"), ("write_pact", "describe_order"), SERVICES),
    ],
)
