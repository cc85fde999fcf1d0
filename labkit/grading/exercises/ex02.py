"""ex02: auth and errors against the shop: OAuth2 client credentials, Bearer, re-auth and refresh, 401 vs 403,
the envelope, 429, versions.

Tokens are checked by using them (the checker calls ``/api/users/me`` with what the
student's code obtained); re-authentication is provoked with an expired token the
checker forges, renewal before expiry with a valid token said to expire in 20 s; the
shop's ``/metrics`` say what the code really sent (a new token asked for, a DELETE
retried), and the 429 check squeezes the rate limit to one second and counts the
refusals there, so retrying in a loop does not pass.
"""
from __future__ import annotations

import random
import time

import jwt

from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, expect_type, short
from .shopapi import READER_KEY, answered, api, new_product, remove_made

CLIENTS = {"my_app": "secret123", "reader_app": "reader-secret", "admin_app": "admin-secret"}
CITIES = ("Kyiv", "Lviv", "Odesa", "Kharkiv", "Dnipro")


def token_for(ctx: Context, client_id: str) -> str:
    resp = api(ctx, "POST", "/oauth/token",
               data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": CLIENTS[client_id]})
    resp.raise_for_status()
    return resp.json()["access_token"]


def me(ctx: Context, token: str):
    return api(ctx, "GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"})


def expired_token(client_id: str) -> str:
    """A token that looks right but expired an hour ago (and is not signed by the shop)."""
    now = int(time.time())
    claims = {"iss": "integration-lab-shop", "aud": "shop-api", "sub": client_id, "iat": now - 7200,
              "exp": now - 3600, "scope": "read write", "roles": ["manager"]}
    return jwt.encode(claims, "not-the-shop-secret-" + "x" * 20, algorithm="HS256")


def check_token(ctx: Context) -> None:
    for client_id in random.sample(sorted(CLIENTS), 2):
        got = ctx.call("get_token", client_id, CLIENTS[client_id])
        expect_type(got, dict, f"get_token({client_id!r}, ...)")
        expect(got.get("token_type", "").lower() == "bearer" and isinstance(got.get("expires_in"), int),
               '{"access_token": ..., "token_type": "Bearer", "expires_in": 3600}', got)
        resp = me(ctx, str(got.get("access_token")))
        expect(resp.status_code == 200 and resp.json().get("subject") == client_id,
               f"дійсний токен клієнта {client_id}", f"GET /api/users/me з ним → {resp.status_code}")


def check_bearer(ctx: Context) -> None:
    client_id = random.choice(sorted(CLIENTS))
    token = token_for(ctx, client_id)
    wanted = me(ctx, token).json()
    got = ctx.call("whoami", token)
    expect_equal(got, wanted, f"whoami(<токен {client_id}>)")
    bad = ctx.call("whoami", expired_token(client_id))
    expect(bad is None, "whoami(<недійсний токен>) → None (401)", bad)


def check_reauth(ctx: Context) -> None:
    good = token_for(ctx, "my_app")
    got = ctx.call("authorized_get", "/api/users/me", good)
    expect(isinstance(got, list) and len(got) == 2, "(тіло відповіді, токен) — пара з двох значень", got)
    body, token = got
    expect(token == good, "з дійсним токеном — той самий токен, без нового входу", "отримано інший токен")
    expect_equal(body, me(ctx, good).json(), "тіло відповіді")
    stale = expired_token("my_app")
    got = ctx.call("authorized_get", "/api/users/me", stale)
    expect(isinstance(got, list) and len(got) == 2, "(тіло відповіді, токен)", got)
    body, token = got
    expect(isinstance(token, str) and token != stale, "після 401 — новий токен з /oauth/token", "той самий токен")
    check = me(ctx, token)
    expect(check.status_code == 200, "новий токен дійсний", f"GET /api/users/me з ним → {check.status_code}")
    expect(isinstance(body, dict) and body.get("subject") == check.json()["subject"],
           "тіло відповіді на повторний запит з новим токеном", short(body, 100))


TOKEN_ROUTE = "/oauth/token"
PRODUCT_ROUTE = r"/api(?:/v[12])?/products/\{product_id\}"


def check_refresh(ctx: Context) -> None:
    good = token_for(ctx, "my_app")
    now = time.time()
    fresh = {"access_token": good, "expires_at": now + 1800}
    before = answered(ctx, TOKEN_ROUTE, "POST")
    got = ctx.call("valid_token", fresh)
    expect(isinstance(got, dict) and got.get("access_token") == good and answered(ctx, TOKEN_ROUTE, "POST") == before,
           "токен, що діє ще 30 хв, — той самий, без нового запиту /oauth/token", short(got, 100))
    # Still valid (the shop would accept it) but about to expire: a client that waits for a 401 keeps it.
    soon = {"access_token": good, "expires_at": time.time() + 20}
    before = answered(ctx, TOKEN_ROUTE, "POST")
    got = ctx.call("valid_token", soon)
    expect_type(got, dict, "valid_token(...)")
    expect(got.get("access_token") not in (None, good) and answered(ctx, TOKEN_ROUTE, "POST") == before + 1,
           "за 20 с до кінця — новий токен (один запит /oauth/token), ще до 401", short(got, 100))
    expect(me(ctx, str(got.get("access_token"))).status_code == 200, "новий токен дійсний", "магазин його не прийняв")
    left = got.get("expires_at")
    expect(isinstance(left, (int, float)) and abs(left - (time.time() + 3600)) < 60,
           "expires_at = time.time() + expires_in (≈ за годину)", short(left))
    empty = ctx.call("valid_token", {})
    expect(isinstance(empty, dict) and me(ctx, str(empty.get("access_token"))).status_code == 200,
           "valid_token({}) → новий дійсний токен", short(empty, 100))


def check_forbidden(ctx: Context) -> None:
    product = new_product(ctx)
    reader = token_for(ctx, "reader_app")
    tokens, deletes = answered(ctx, TOKEN_ROUTE, "POST"), answered(ctx, PRODUCT_ROUTE, "DELETE")
    got = ctx.call("delete_as", product["id"], reader)
    asked, tried = answered(ctx, TOKEN_ROUTE, "POST") - tokens, answered(ctx, PRODUCT_ROUTE, "DELETE") - deletes
    expect(got == "forbidden", f"delete_as({product['id']}, <токен читача>) → 'forbidden' (403)", short(got))
    expect(asked == 0 and tried == 1, "на 403 — без нового токена і без повтору: роль від нього не зміниться",
           f"запитів /oauth/token: {asked:.0f}, DELETE: {tried:.0f}")
    expect(api(ctx, "GET", f"/api/products/{product['id']}").status_code == 200, "товар лишився", "товару немає")
    manager = token_for(ctx, "my_app")
    expect_equal(ctx.call("delete_as", product["id"], manager), "deleted", f"delete_as({product['id']}, <менеджер>)")
    expect_equal(ctx.call("delete_as", product["id"], manager), "not_found", "повторне видалення")
    expect_equal(ctx.call("delete_as", product["id"], expired_token("my_app")), "unauthorized",
                 "delete_as(..., <прострочений токен>)")


def check_error_envelope(ctx: Context) -> None:
    bad = random.choice([
        {"title": "", "category": "electronics", "price": 100},
        {"title": f"Товар {ctx.unique('e')}", "category": "food", "price": 100},
        {"title": f"Товар {ctx.unique('e')}", "category": "books", "price": -random.randint(1, 99)},
        {"title": "", "category": "toys", "price": 0},
    ])
    resp = api(ctx, "POST", "/api/products", json=bad, auth=True)
    err = resp.json()["error"]
    wanted = {"status": resp.status_code, "code": err["code"],
              "fields": {d["field"]: d["message"] for d in err["details"]}}
    got = ctx.call("product_errors", bad)
    expect_type(got, dict, "product_errors(...)")
    expect_equal({k: got.get(k) for k in wanted}, wanted, f"product_errors({short(bad, 60)})")
    expect(isinstance(got.get("request_id"), str) and got["request_id"].startswith("req_"),
           "request_id з конверта помилки", got.get("request_id"))


def _refusals(ctx: Context) -> float:
    return answered(ctx, "/api(?:/v[12])?/weather", status="429")


def check_retry_after(ctx: Context) -> None:
    city = random.choice(CITIES)
    wanted = api(ctx, "GET", "/api/weather", params={"city": city, "apikey": READER_KEY}).json()
    api(ctx, "PUT", "/admin/rate-limit", json={"limit": 2, "window_s": 1}).raise_for_status()
    try:
        before = _refusals(ctx)
        for _ in range(2):  # use up this second's window
            api(ctx, "GET", "/api/weather", params={"city": city, "apikey": READER_KEY})
        started = time.monotonic()
        got = ctx.call("get_weather", city, READER_KEY)
        took = time.monotonic() - started
        refused = _refusals(ctx) - before
    finally:
        api(ctx, "DELETE", "/admin/rate-limit")
    expect_equal(got, wanted, f"get_weather({city!r}, ...)")
    expect(refused == 1, "рівно одна відповідь 429, потім пауза Retry-After і повтор",
           f"відповідей 429: {refused:.0f}" + (" (повтор без паузи)" if refused > 1 else " (429 не отримано)"))
    expect(took >= 0.5, "пауза на Retry-After секунд перед повтором", f"виклик тривав {took:.2f} с")


def check_version(ctx: Context) -> None:
    ids = [p["id"] for p in api(ctx, "GET", "/api/products", params={"per_page": 100}).json()["data"]]
    for product_id in random.sample(ids, 2):
        wanted = api(ctx, "GET", f"/api/v2/products/{product_id}").json()
        got = ctx.call("get_product_v2", product_id)
        expect_equal(got, wanted, f"get_product_v2({product_id})")
        if not isinstance(got.get("price"), dict):
            raise CheckFailed('price у версії 2: {"amount", "currency"}', short(got.get("price")))


EXERCISE = Exercise(
    id="ex02",
    title="Автентифікація, помилки, версії",
    services=("shop",),
    teardown=remove_made,
    checks=[
        Check("ex02.token", 2, "get_token runs the OAuth2 client-credentials grant and returns the token JSON",
              "POST /oauth/token з data={'grant_type': 'client_credentials', 'client_id': ..., 'client_secret': ...}"
              " (форма, не JSON); поверніть resp.json().",
              check_token, ("get_token",), ("shop",)),
        Check("ex02.bearer", 2, "whoami calls /api/users/me with a Bearer token; None on 401",
              "Заголовок: {'Authorization': f'Bearer {token}'}; якщо 401 — поверніть None.",
              check_bearer, ("whoami",), ("shop",)),
        Check("ex02.reauth", 2, "authorized_get reuses a good token and fetches a new one after 401",
              "Спершу запит зі старим токеном; якщо 401 — get_token(CLIENT_ID, CLIENT_SECRET) і повтор. "
              "Поверніть (тіло, токен).",
              check_reauth, ("authorized_get",), ("shop",)),
        Check("ex02.refresh", 2, "valid_token renews a token shortly before it expires, not only after a 401",
              "Зберігайте expires_at = time.time() + expires_in; якщо до нього лишилося менше REFRESH_MARGIN "
              "секунд — get_token(...) заздалегідь, інакше поверніть той самий токен.",
              check_refresh, ("valid_token",), ("shop",)),
        Check("ex02.forbidden", 2, "delete_as tells 403 (the role may not) from 401 (no valid token) and never retries a 403",
              "401 — токен недійсний (можна отримати новий); 403 — роль не дозволяє, новий токен того самого клієнта "
              "не допоможе: поверніть 'forbidden' без повтору.",
              check_forbidden, ("delete_as",), ("shop",)),
        Check("ex02.error_envelope", 2, "product_errors reads status, code, fields and request_id from the envelope",
              "err = resp.json()['error']; поля: {d['field']: d['message'] for d in err['details']}.",
              check_error_envelope, ("product_errors",), ("shop",)),
        Check("ex02.retry_after", 2, "get_weather waits Retry-After seconds after a 429, then retries once",
              "Якщо resp.status_code == 429: time.sleep(int(resp.headers['Retry-After'])) і повторіть запит.",
              check_retry_after, ("get_weather",), ("shop",)),
        Check("ex02.version", 2, "get_product_v2 asks for API version 2 (price as amount + currency)",
              "Версію можна обрати в URL (/api/v2/...), заголовком Accept: application/vnd.company.v2+json "
              "або ?version=2.",
              check_version, ("get_product_v2",), ("shop",)),
    ],
)
