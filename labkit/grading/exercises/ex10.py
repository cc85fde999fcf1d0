"""ex10: an integration middleware. New order → CRM upsert → warehouse reservation → confirmation email.

The student writes the steps (``upsert_contact``, ``reserve_stock``, ``send_confirmation``), a retry
wrapper, the workflow ``handle_order`` (idempotent per order, dead-lettering the order at a step
that keeps failing, ``replay`` from the dead letters, the lecture's structured log lines) and a
FastAPI app ``app`` that receives the shop's webhook. The checks drive it as the shop and the
systems would: they send webhooks to the student's app (and send them again), break the
warehouse with its chaos switch for a moment or for good, and then read what really happened
in the CRM (as its read-only client), the warehouse, the mailbox and the student's own log.
"""
from __future__ import annotations

import json
import threading
import time

import requests

from ..appserver import EXCEPTION_HEADER, NOT_IMPLEMENTED_HEADER
from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, expect_type, short
from ..student import StudentError
from ...ukrainian import count

SERVICES = ("crm", "warehouse", "mailer", "mailbox")
STEPS = ("crm_upsert", "warehouse_reserve", "email_send")
READER = {"grant_type": "client_credentials", "client_id": "crm-reader", "client_secret": "reader-secret"}
SEEDED = ("ivan@example.com", "Іван")


def http(ctx: Context, service: str, method: str, path: str, **kwargs) -> requests.Response:
    try:
        resp = requests.request(method, ctx.url(service) + path, timeout=15, **kwargs)
    except requests.RequestException as exc:
        raise CheckFailed(f"відповідь сервісу {service}", type(exc).__name__,
                          f"Сервіс {service} не відповідає; перевірте `lab status`.") from None
    if resp.status_code >= 500 and path.startswith("/api"):
        raise CheckFailed(f"відповідь сервісу {service}", f"{resp.status_code} {resp.text[:100]}",
                          f"Сервіс {service} відповів помилкою; перевірте `lab status` і спробуйте ще раз.")
    return resp


def crm_contacts(ctx: Context, email: str) -> list[dict]:
    token = http(ctx, "crm", "POST", "/services/oauth2/token", data=READER).json()["access_token"]
    return http(ctx, "crm", "GET", "/api/contacts", params={"email": email},
                headers={"Authorization": f"Bearer {token}"}).json()["data"]


def inbox(ctx: Context, email: str) -> list[dict]:
    return http(ctx, "mailbox", "GET", "/api/v1/messages", params={"to": email}).json()["messages"]


def reservation(ctx: Context, order_id: str) -> dict | None:
    resp = http(ctx, "warehouse", "GET", f"/api/reservations/{order_id}")
    return resp.json() if resp.status_code == 200 else None


def new_order(ctx: Context, sku: str = "ABC", quantity: int = 1) -> dict:
    order_id = ctx.unique("ex10")
    return {"order_id": order_id,
            "customer": {"email": f"{order_id}@example.com", "first_name": "Олена", "last_name": "Коваленко"},
            "items": [{"sku": sku, "quantity": quantity}], "total": 549 * quantity, "currency": "UAH"}


class Chaos:
    """The warehouse broken (503 for everything) now, and mended after ``seconds`` (or on exit)."""

    def __init__(self, ctx: Context, seconds: float | None = None) -> None:
        self.ctx, self.seconds = ctx, seconds
        self.timer: threading.Timer | None = None

    def off(self) -> None:
        requests.delete(self.ctx.url("warehouse") + "/admin/chaos", timeout=10)

    def __enter__(self) -> "Chaos":
        http(self.ctx, "warehouse", "PUT", "/admin/chaos", json={"down": True})
        if self.seconds is not None:
            self.timer = threading.Timer(self.seconds, self.off)
            self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.off()


def handle(ctx: Context, order: dict, request_id: str | None = None) -> dict:
    got = ctx.call("handle_order", order, request_id or ctx.unique("req"))
    expect_type(got, dict, "handle_order(...)")
    return got


def webhook(ctx: Context, order: dict, request_id: str) -> requests.Response:
    """The shop's webhook to the student's app; its stubs and crashes become StudentError."""
    try:
        resp = requests.post(ctx.app_url("app") + "/webhooks/orders", json=order, timeout=30,
                             headers={"X-Request-ID": request_id})
    except requests.RequestException as exc:
        raise CheckFailed("відповідь вашого застосунку app", type(exc).__name__,
                          "Застосунок не відповів на POST /webhooks/orders; чи він запускається?") from None
    if resp.status_code == 501 and resp.headers.get(NOT_IMPLEMENTED_HEADER):
        raise StudentError("not_implemented", "POST /webhooks/orders")
    if resp.status_code == 500 and resp.headers.get(EXCEPTION_HEADER):
        kind, _, message = resp.headers[EXCEPTION_HEADER].partition(": ")
        raise StudentError("exception", "POST /webhooks/orders", kind, message)
    return resp


def expect_done(got: dict, what: str) -> None:
    expect(got.get("status") == "done", f"{what}: {{'status': 'done', ...}}", short(got))


# --- checks ---------------------------------------------------------------------------


def check_crm_upsert(ctx: Context) -> None:
    email = f"{ctx.unique('crm')}@example.com"
    rid = ctx.unique("req")
    first = ctx.call("upsert_contact", {"email": email, "first_name": "Богдан", "last_name": "Олійник"}, rid)
    expect(isinstance(first, str) and first.startswith("003"), "id контакту CRM (рядок '003…')", short(first))
    found = crm_contacts(ctx, email)
    expect(len(found) == 1 and found[0]["id"] == first, f"у CRM один контакт {email} з id {first}", short(found))
    expect_equal(found[0]["first_name"], "Богдан", "first_name у CRM")
    again = ctx.call("upsert_contact", {"email": email, "first_name": "Богдан"}, rid)
    expect_equal(again, first, "повторний upsert_contact того ж email")
    expect_equal(len(crm_contacts(ctx, email)), 1, "контактів з цим email після повтору")
    seeded = ctx.call("upsert_contact", {"email": SEEDED[0], "first_name": SEEDED[1]}, rid)
    expect_equal(seeded, crm_contacts(ctx, SEEDED[0])[0]["id"], f"upsert_contact для наявного {SEEDED[0]}")


def check_reserve(ctx: Context) -> None:
    order = new_order(ctx, "XYZ", 2)
    got = ctx.call("reserve_stock", order, ctx.unique("req"))
    expect_type(got, dict, "reserve_stock(...)")
    held = reservation(ctx, order["order_id"])
    expect(held is not None and held["status"] == "reserved", f"резерв замовлення {order['order_id']} на складі",
           short(held))
    expect_equal(held["items"], [{"sku": "XYZ", "quantity": 2}], "рядки резерву")


def check_email(ctx: Context) -> None:
    order = new_order(ctx)
    for _ in range(2):  # a retried send must land once: Message-Id from the order id
        ctx.call("send_confirmation", order, ctx.unique("req"))
    messages = inbox(ctx, order["customer"]["email"])
    expect(len(messages) == 1, "один лист клієнту (повторна відправка з тим самим Message-Id не дублює)",
           count(len(messages), "лист", "листи", "листів"))
    expect(order["order_id"] in messages[0]["Subject"], f"тема листа містить {order['order_id']}",
           messages[0]["Subject"])


def check_webhook(ctx: Context) -> None:
    order, rid = new_order(ctx), ctx.unique("req")
    resp = webhook(ctx, order, rid)
    expect(resp.status_code == 200, "POST /webhooks/orders → 200", f"{resp.status_code} {resp.text[:120]}")
    expect_done(resp.json(), "відповідь на вебхук")
    expect_equal(len(crm_contacts(ctx, order["customer"]["email"])), 1, "контакт у CRM")
    expect((reservation(ctx, order["order_id"]) or {}).get("status") == "reserved", "резерв на складі",
           short(reservation(ctx, order["order_id"])))
    expect_equal(len(inbox(ctx, order["customer"]["email"])), 1, "листів клієнту")
    ctx.scratch["ex10_webhook"] = (order, rid)


def check_idempotent(ctx: Context) -> None:
    order, rid = new_order(ctx), ctx.unique("req")
    first = webhook(ctx, order, rid)
    expect(first.status_code == 200, "перший вебхук → 200", f"{first.status_code} {first.text[:120]}")
    held = reservation(ctx, order["order_id"])
    for _ in range(2):
        again = webhook(ctx, order, rid)
        expect(again.status_code == 200 and again.json().get("status") == "duplicate",
               "той самий вебхук ще раз → 200 {'status': 'duplicate'}", f"{again.status_code} {again.text[:120]}")
    expect_equal(len(inbox(ctx, order["customer"]["email"])), 1, "листів після трьох однакових вебхуків")
    expect_equal(len(crm_contacts(ctx, order["customer"]["email"])), 1, "контактів після трьох однакових вебхуків")
    expect_equal(reservation(ctx, order["order_id"]), held, "резерв після повторів")


def check_retries(ctx: Context) -> None:
    order = new_order(ctx)
    with Chaos(ctx, seconds=0.6):  # down now, up again while the student's retries wait
        got = handle(ctx, order)
    expect_done(got, "handle_order, коли склад недоступний 0,6 с")
    expect((reservation(ctx, order["order_id"]) or {}).get("status") == "reserved", "резерв після повторів",
           short(reservation(ctx, order["order_id"])))
    refused = new_order(ctx, "EL-005", 900)  # more than the warehouse holds: 409, a "no" that will not pass
    started = time.monotonic()
    got = handle(ctx, refused)
    took = time.monotonic() - started
    expect(got.get("status") == "failed" and got.get("step") == "warehouse_reserve",
           "{'status': 'failed', 'step': 'warehouse_reserve'} для замовлення понад залишок", short(got))
    expect(took < 0.25, "409 не повторюють: відмова одразу (< 0,25 с)", f"{took:.2f} с")


def check_dead_letter(ctx: Context) -> None:
    order = new_order(ctx)
    with Chaos(ctx):
        got = handle(ctx, order)
    expect(got.get("status") == "failed" and got.get("step") == "warehouse_reserve",
           "склад недоступний довго → {'status': 'failed', 'step': 'warehouse_reserve'}", short(got))
    dead = ctx.call("dead_letters")
    expect(isinstance(dead, list) and any(isinstance(d, dict) and d.get("order_id") == order["order_id"]
                                          for d in dead),
           f"dead_letters() містить {order['order_id']}", short(dead))
    expect_equal(len(inbox(ctx, order["customer"]["email"])), 0, "листів до відновлення (крок не дійшов)")
    replayed = ctx.call("replay", order["order_id"])
    expect_type(replayed, dict, "replay(...)")
    expect_done(replayed, "replay після того, як склад знову працює")
    expect_equal(len(inbox(ctx, order["customer"]["email"])), 1, "листів після replay")
    expect_equal(len(crm_contacts(ctx, order["customer"]["email"])), 1, "контактів після replay")
    dead = ctx.call("dead_letters")
    expect(not any(isinstance(d, dict) and d.get("order_id") == order["order_id"] for d in dead or []),
           "після успішного replay замовлення зникає з dead_letters()", short(dead))
    ctx.scratch["ex10_dead"] = order["order_id"]


def _lines(ctx: Context) -> list[dict]:
    raw = ctx.call("log_lines")
    expect(isinstance(raw, list), "log_lines(): список рядків JSON", short(raw))
    parsed = []
    for line in raw:
        try:
            entry = json.loads(line) if isinstance(line, str) else None
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            parsed.append(entry)
    return parsed


def check_logs(ctx: Context) -> None:
    order, rid = ctx.scratch.get("ex10_webhook") or (new_order(ctx), ctx.unique("req"))
    if "ex10_webhook" not in ctx.scratch:
        webhook(ctx, order, rid)
    mine = [e for e in _lines(ctx) if e.get("order_id") == order["order_id"]]
    expect(mine, f"рядки журналу з order_id={order['order_id']}", "жодного")
    expect(all(e.get("request_id") == rid for e in mine), f"у кожному рядку request_id={rid} (з X-Request-ID)",
           short(sorted({str(e.get('request_id')) for e in mine})))
    actions = {e.get("action") for e in mine}
    wanted = {f"{step}_{phase}" for step in STEPS for phase in ("start", "success")}
    expect(wanted <= actions, f"action: {sorted(wanted)}", short(sorted(a for a in actions if a)))
    failed = ctx.scratch.get("ex10_dead")
    if failed:
        errors = {e.get("action") for e in _lines(ctx) if e.get("order_id") == failed}
        expect("warehouse_reserve_error" in errors, "для збою складу — рядок з action='warehouse_reserve_error'",
               short(sorted(a for a in errors if a)))


APP = ("app", "handle_order", "upsert_contact", "reserve_stock", "send_confirmation")
FLOW = ("handle_order", "upsert_contact", "reserve_stock", "send_confirmation")

EXERCISE = Exercise(
    id="ex10",
    title="Інтеграційний middleware: замовлення → CRM → склад → лист",
    services=SERVICES,
    checks=[
        Check("ex10.crm_upsert", 3, "upsert_contact finds the contact by email or creates it; never a second one",
              "Спершу GET /api/contacts?email=... з Bearer-токеном; якщо data порожній — POST /api/contacts "
              "(або одним викликом PUT /api/contacts/by-email/{email}). Поверніть id контакту.",
              check_crm_upsert, ("upsert_contact",), ("crm",)),
        Check("ex10.reserve", 2, "reserve_stock reserves the order's lines in the warehouse",
              "POST {WAREHOUSE}/api/reservations з {'order_id', 'items': [{'sku', 'quantity'}]}; поверніть resp.json().",
              check_reserve, ("reserve_stock",), ("warehouse",)),
        Check("ex10.email", 2, "send_confirmation emails the customer once per order (Message-Id from the order id)",
              "POST {MAILER}/api/1.0/messages/send з key і message; у message['headers'] — 'Message-Id': "
              "f'<order-{order_id}@shop.example.com>', тоді повторна відправка не дублює лист.",
              check_email, ("send_confirmation",), ("mailer", "mailbox")),
        Check("ex10.webhook", 3, "a new-order webhook to the app creates the contact, the reservation and the email",
              "@app.post('/webhooks/orders'): візьміть тіло і X-Request-ID, викличте handle_order і поверніть "
              "його результат ({'status': 'done', ...}).",
              check_webhook, APP, SERVICES),
        Check("ex10.idempotent", 3, "the same webhook again answers duplicate and changes nothing",
              "Запам'ятовуйте order_id виконаних замовлень (PROCESSED); для відомого — одразу "
              "{'status': 'duplicate'} без жодного виклику.",
              check_idempotent, APP, SERVICES),
        Check("ex10.retries", 3, "a step that fails for a moment is retried with growing waits; a 4xx is not retried",
              "with_retries: повторюйте TransientError (немає з'єднання, 5xx, 429) з паузою base·2^(n−1), "
              "щонайменше 4 спроби від 0,3 с; 409 та інші 4xx — одразу виняток, без повторів.",
              check_retries, FLOW, SERVICES),
        Check("ex10.dead_letter", 3, "an order stuck at a step is dead-lettered, and replay finishes it once",
              "Коли крок вичерпав повтори: DEAD_LETTERS[order_id] = {'order_id', 'step', 'error', 'order'} і "
              "{'status': 'failed', 'step': ...}; replay(order_id) запускає замовлення знову й прибирає його звідти.",
              check_dead_letter, ("handle_order", "dead_letters", "replay"), SERVICES),
        Check("ex10.logs", 3, "every step logs start and success (or error) with the request_id and order_id",
              "Як у лекції: log.info('...', extra={'request_id': ..., 'order_id': ..., 'action': "
              "'crm_upsert_start'}) перед кроком, '<крок>_success' після, '<крок>_error' при збої.",
              check_logs, ("app", "handle_order", "log_lines"), SERVICES),
    ],
)
