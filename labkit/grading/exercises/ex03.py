"""ex03: a small REST server. The student writes a FastAPI ``app``; the checks drive it over HTTP.

The resource is the lecture's ``/api/customers``: ``POST`` (201 + ``Location``,
409 on a taken email), ``GET`` one (200 / 404), ``GET`` the list with the lecture's
pagination, ``PATCH``, ``DELETE`` (204), and every error in the lecture's envelope
with validation failures as 400 ``VALIDATION_ERROR``. Every check creates its own
customers with random names, so no hard-coded answer and no leftover state passes.
"""
from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import requests

from ..appserver import EXCEPTION_HEADER, NOT_IMPLEMENTED_HEADER
from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, short
from ..student import StudentError
from ...ukrainian import count

BASE = "/api/customers"
RECORDS = ("запис", "записи", "записів")
APP = ("app",)


def _origin(url: str) -> tuple:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def http(ctx: Context, method: str, path: str, **kwargs) -> requests.Response:
    """One request to the student's app; its exceptions become StudentError, silence a failure.

    Only the app itself is ever asked: a URL the app hands out (a Location) elsewhere fails the check.
    """
    url = path if "://" in path else ctx.app_url() + path
    if _origin(url) != _origin(ctx.app_url()):
        raise CheckFailed("адреса вашого застосунку (шлях на кшталт /api/customers/1)", short(path, 100),
                          "Застосунок вказав адресу поза собою; перевірка туди не звертається.")
    try:
        resp = requests.request(method, url, timeout=5, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise CheckFailed(f"відповідь на {method} {path}", f"немає відповіді ({type(exc).__name__})",
                          "Ваш застосунок не відповів за 5 с.") from None
    route = f"{method} {path.split('?')[0]}"
    if resp.status_code == 501 and resp.headers.get(NOT_IMPLEMENTED_HEADER):
        raise StudentError("not_implemented", route)
    if resp.status_code == 500 and resp.headers.get(EXCEPTION_HEADER):
        kind, _, message = resp.headers[EXCEPTION_HEADER].partition(": ")
        raise StudentError("exception", route, kind, message)
    return resp


def body(resp: requests.Response):
    try:
        return resp.json()
    except ValueError:
        return None


def seen(resp: requests.Response) -> str:
    return f"{resp.status_code} {short(body(resp) if body(resp) is not None else resp.text, 120)}"


def expect_status(resp: requests.Response, status: int, request: str) -> None:
    expect(resp.status_code == status, f"{request} → {status}", seen(resp))


def expect_error(resp: requests.Response, status: int, code: str, request: str) -> dict:
    """The response is ``status`` with the envelope carrying ``code``; the envelope's error object."""
    data = body(resp)
    err = data.get("error") if isinstance(data, dict) else None
    expect(resp.status_code == status and isinstance(err, dict) and err.get("code") == code,
           f'{request} → {status} {{"error": {{"code": "{code}", ...}}}}', seen(resp))
    return err


def new_customer(ctx: Context, city: str | None = "Київ") -> dict:
    tag = ctx.unique("c")
    return {"name": f"Клієнт {tag}", "email": f"{tag}@example.com", "city": city}


def create(ctx: Context, data: dict | None = None) -> tuple[dict, requests.Response]:
    data = data or new_customer(ctx)
    resp = http(ctx, "POST", BASE, json=data)
    expect_status(resp, 201, f"POST {BASE}")
    created = body(resp)
    expect(isinstance(created, dict) and isinstance(created.get("id"), int),
           'тіло: створений клієнт з цілим "id"', seen(resp))
    return created, resp


# --- checks ---------------------------------------------------------------------------


def check_create(ctx: Context) -> None:
    data = new_customer(ctx)
    created, resp = create(ctx, data)
    for key in ("name", "email", "city"):
        expect_equal(created.get(key), data[key], key)


def check_location(ctx: Context) -> None:
    created, resp = create(ctx)
    location = resp.headers.get("Location")
    expect(bool(location), "заголовок Location з адресою нового клієнта", f"заголовки: {short(dict(resp.headers), 120)}")
    target = urljoin(ctx.app_url() + BASE, location)
    expect(target.rstrip("/").endswith(f"{BASE}/{created['id']}"), f"Location: {BASE}/{created['id']}", location)
    got = http(ctx, "GET", target)
    expect_status(got, 200, f"GET {location}")
    expect_equal(body(got), created, f"GET {location}")


def check_get_missing(ctx: Context) -> None:
    created, _ = create(ctx)
    got = http(ctx, "GET", f"{BASE}/{created['id']}")
    expect_status(got, 200, f"GET {BASE}/{created['id']}")
    expect_equal(body(got), created, "тіло")
    missing = created["id"] + 7919
    expect_error(http(ctx, "GET", f"{BASE}/{missing}"), 404, "NOT_FOUND", f"GET {BASE}/{missing}")


def check_envelope(ctx: Context) -> None:
    resp = http(ctx, "GET", f"{BASE}/987654321")
    err = expect_error(resp, 404, "NOT_FOUND", f"GET {BASE}/987654321")
    wanted = {"code": str, "message": str, "details": list, "request_id": str, "timestamp": str}
    for key, kind in wanted.items():
        expect(isinstance(err.get(key), kind) and (kind is list or err.get(key)),
               f'error.{key}: {"список" if kind is list else "непорожній рядок"}', f"error = {short(err, 140)}")
    try:
        datetime.fromisoformat(err["timestamp"].replace("Z", "+00:00"))
    except ValueError:
        raise CheckFailed("timestamp у форматі ISO 8601, напр. 2024-02-08T10:30:45Z", err["timestamp"]) from None


def _fields(err: dict) -> set[str]:
    names = set()
    for d in err.get("details") or []:
        if isinstance(d, dict) and isinstance(d.get("field"), str):
            names.add(d["field"].removeprefix("body."))
    return names


def check_validation(ctx: Context) -> None:
    bad_email = {**new_customer(ctx), "email": "not-an-email"}
    err = expect_error(http(ctx, "POST", BASE, json=bad_email), 400, "VALIDATION_ERROR", f"POST {BASE} (email без @)")
    expect("email" in _fields(err), 'details: [{"field": "email", ...}]', f"details = {short(err.get('details'), 120)}")
    no_name = {k: v for k, v in new_customer(ctx).items() if k != "name"}
    err = expect_error(http(ctx, "POST", BASE, json=no_name), 400, "VALIDATION_ERROR", f"POST {BASE} (без name)")
    expect("name" in _fields(err), 'details: [{"field": "name", ...}]', f"details = {short(err.get('details'), 120)}")


def check_conflict(ctx: Context) -> None:
    data = new_customer(ctx)
    create(ctx, data)
    again = {**new_customer(ctx), "email": data["email"]}
    expect_error(http(ctx, "POST", BASE, json=again), 409, "CONFLICT", f"POST {BASE} (той самий email)")


def check_patch(ctx: Context) -> None:
    created, _ = create(ctx)
    city = f"Місто {ctx.unique('m')}"
    path = f"{BASE}/{created['id']}"
    resp = http(ctx, "PATCH", path, json={"city": city})
    expect_status(resp, 200, f"PATCH {path}")
    wanted = {**created, "city": city}
    expect_equal(body(resp), wanted, f"PATCH {path}")
    expect_equal(body(http(ctx, "GET", path)), wanted, f"GET {path} після PATCH")
    expect_error(http(ctx, "PATCH", f"{BASE}/{created['id'] + 7919}", json={"city": city}), 404, "NOT_FOUND",
                 f"PATCH {BASE}/<немає такого>")


def check_delete(ctx: Context) -> None:
    created, _ = create(ctx)
    path = f"{BASE}/{created['id']}"
    expect_status(http(ctx, "GET", path), 200, f"GET {path}")
    resp = http(ctx, "DELETE", path)
    expect(resp.status_code == 204 and not resp.content, f"DELETE {path} → 204 без тіла", seen(resp))
    expect_error(http(ctx, "GET", path), 404, "NOT_FOUND", f"GET {path} після DELETE")
    expect_error(http(ctx, "DELETE", path), 404, "NOT_FOUND", f"DELETE {path} вдруге")


def check_pagination(ctx: Context) -> None:
    mine = {create(ctx)[0]["id"] for _ in range(3)}
    per_page = 2
    first = http(ctx, "GET", BASE, params={"page": 1, "per_page": per_page})
    expect_status(first, 200, f"GET {BASE}?page=1&per_page={per_page}")
    page = body(first)
    expect(isinstance(page, dict) and isinstance(page.get("data"), list) and isinstance(page.get("pagination"), dict),
           '{"data": [...], "pagination": {...}}', seen(first))
    total = page["pagination"].get("total")
    expect(isinstance(total, int) and total >= 3, "pagination.total: кількість усіх клієнтів", short(page["pagination"]))
    pages = math.ceil(total / per_page)
    expect_equal(page["pagination"], {"page": 1, "per_page": per_page, "total": total, "total_pages": pages},
                 "pagination")
    ids: list[int] = []
    for number in range(1, pages + 1):
        resp = http(ctx, "GET", BASE, params={"page": number, "per_page": per_page})
        expect_status(resp, 200, f"GET {BASE}?page={number}&per_page={per_page}")
        data = body(resp).get("data", [])
        expect(len(data) == min(per_page, total - (number - 1) * per_page),
               f"сторінка {number}: {count(min(per_page, total - (number - 1) * per_page), *RECORDS)}",
               count(len(data), *RECORDS))
        ids += [c.get("id") for c in data]
    expect(len(ids) == len(set(ids)) == total, f"усі {count(total, 'клієнт', 'клієнти', 'клієнтів')} по одному разу", f"id: {short(ids, 120)}")
    expect(ids == sorted(ids), "клієнти впорядковані за id", f"id: {short(ids, 120)}")
    expect(mine <= set(ids), f"щойно створені {sorted(mine)} є у списку", f"id: {short(ids, 120)}")


EXERCISE = Exercise(
    id="ex03",
    title="REST-сервер на FastAPI",
    checks=[
        Check("ex03.create", 2, "POST /api/customers creates a customer: 201 and the customer with its id",
              "Поверніть статус 201 (status_code=201 у декораторі) і створений об'єкт разом з новим id.",
              check_create, APP),
        Check("ex03.location", 2, "201 carries Location pointing at the new customer, and GET on it returns it",
              "Додайте заголовок: response.headers['Location'] = f'/api/customers/{id}'.",
              check_location, APP),
        Check("ex03.get_missing", 2, "GET /api/customers/{id} returns the customer, or 404 NOT_FOUND if absent",
              "Якщо id немає у сховищі, поверніть error_response(404, 'NOT_FOUND', ...).",
              check_get_missing, APP),
        Check("ex03.envelope", 1, "errors use the lecture's envelope: code, message, details, request_id, timestamp",
              "Тіло помилки: {'error': {'code', 'message', 'details': [], 'request_id', 'timestamp'}}; "
              "timestamp у форматі ISO 8601.",
              check_envelope, APP),
        Check("ex03.validation", 2, "invalid input is 400 VALIDATION_ERROR with the failing field in details",
              "Обробник RequestValidationError має повертати 400 (не 422) і поле з err['loc'] у details.",
              check_validation, APP),
        Check("ex03.conflict", 1, "creating a second customer with a taken email is 409 CONFLICT",
              "Перед створенням перевірте, чи email уже є серед клієнтів; якщо так, 409 'CONFLICT'.",
              check_conflict, APP),
        Check("ex03.patch", 2, "PATCH changes only the fields sent (200), 404 for an unknown id",
              "Оновіть лише поля, які прийшли: data.model_dump(exclude_unset=True).",
              check_patch, APP),
        Check("ex03.delete", 2, "DELETE answers 204 with no body; afterwards GET and DELETE are 404",
              "Поверніть Response(status_code=204) без тіла; повторне видалення — 404 NOT_FOUND.",
              check_delete, APP),
        Check("ex03.pagination", 3, "GET /api/customers pages by page/per_page with the lecture's pagination object",
              "Відсортуйте за id, візьміть зріз [(page-1)*per_page : page*per_page], "
              "total_pages = ceil(total / per_page).",
              check_pagination, APP),
    ],
)
