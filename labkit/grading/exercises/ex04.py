"""ex04: a webhook receiver. The student writes verify functions and a FastAPI app ``receiver``; real deliveries test it.

The checker registers the student's app at the grading payments service (with the secret
the exercise names, as Svix lets an endpoint bring its own), pays for shop orders and
watches what happens: a genuine ``payment_intent.succeeded`` must mark the order paid;
forged, tampered, unsigned, stale and re-timestamped requests (``simulate_attack``, built
from real events) must be refused with 4xx while the same event, delivered genuinely, is
then accepted; a duplicate must answer 2xx ``already_processed`` without touching the order
again; older events arriving late must be acknowledged and change nothing. Whether signatures are
compared in constant time cannot be seen from outside, so one check reads the code of the two
verify functions (and of the functions they call) as the grader read it from the notebook.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import random
import secrets
import time

import requests

from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, short
from ..student import StudentError
from .shopapi import READER_KEY, api

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the exercise's starter sets the same
PATH = "/webhooks/payments"
ORDER = {"customer_id": 67890, "items": [{"product_id": "ABC", "quantity": 1}]}
REFUSED = (400, 401, 403)


def payments(ctx: Context, method: str, path: str, **kwargs) -> requests.Response:
    resp = requests.request(method, ctx.url("payments") + path, timeout=15, **kwargs)
    if resp.status_code >= 500:
        raise CheckFailed("відповідь платіжного сервісу", f"{resp.status_code} {resp.text[:100]}",
                          "Платіжний сервіс відповів помилкою; перевірте `lab status` і спробуйте ще раз.")
    return resp


def endpoint(ctx: Context) -> dict:
    """The student's app, registered once per run (endpoints of earlier runs are removed)."""
    if "ex04_endpoint" not in ctx.scratch:
        url = ctx.app_url("receiver") + PATH
        for old in payments(ctx, "GET", "/api/webhook_endpoints").json()["data"]:
            if old["description"] == "ex04 checker":
                payments(ctx, "DELETE", f"/api/webhook_endpoints/{old['id']}")
        resp = payments(ctx, "POST", "/api/webhook_endpoints", json={
            "url": url, "enabled_events": ["payment_intent.succeeded"], "secret": WEBHOOK_SECRET,
            "description": "ex04 checker"})
        resp.raise_for_status()
        ctx.scratch["ex04_endpoint"] = resp.json()
    return ctx.scratch["ex04_endpoint"]


def new_order(ctx: Context) -> dict:
    resp = api(ctx, "POST", "/api/orders", json=ORDER, auth=True)
    resp.raise_for_status()
    return resp.json()


def order_status(ctx: Context, order_id: int) -> str:
    """The order's status, read with the lecture's reader key (its own rate limit, not the checker's client's)."""
    resp = api(ctx, "GET", f"/api/orders/{order_id}", headers={"X-API-Key": READER_KEY})
    if resp.status_code != 200:
        raise CheckFailed(f"замовлення {order_id} у магазині", f"{resp.status_code} {resp.text[:100]}",
                          "Магазин не віддав замовлення; перевірте `lab status` і спробуйте ще раз за хвилину.")
    return resp.json()["status"]


def new_intent(ctx: Context, order: dict) -> dict:
    endpoint(ctx)  # registered before any of its events fire
    resp = payments(ctx, "POST", "/api/payment_intents", json={
        "amount": max(1, round(order["total"] * 100)), "currency": "uah", "customer": "cus_xyz789",
        "metadata": {"order_id": str(order["id"])}})
    resp.raise_for_status()
    return resp.json()


def confirm(ctx: Context, intent: dict, card: str = "pm_card_visa") -> str:
    """Pay the intent; the id of the event that fired."""
    payments(ctx, "POST", f"/api/payment_intents/{intent['id']}/confirm", json={"payment_method": card}).raise_for_status()
    return payments(ctx, "GET", "/api/events", params={"object_id": intent["id"], "limit": 1}).json()["data"][0]["id"]


def quietly(ctx: Context, action):
    """Run ``action`` while the student's endpoint is disabled: its events reach nobody."""
    path = f"/api/webhook_endpoints/{endpoint(ctx)['id']}"
    payments(ctx, "PATCH", path, json={"status": "disabled"})
    try:
        return action()
    finally:
        payments(ctx, "PATCH", path, json={"status": "enabled"})


def delivered(ctx: Context, event_id: str, attempts: int = 1, timeout: float = 10.0) -> dict:
    """The event's delivery to the student's app once it has made ``attempts`` attempts: the last one."""
    params = {"event_id": event_id, "endpoint_id": endpoint(ctx)["id"]}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = payments(ctx, "GET", "/api/deliveries", params=params).json()["data"]
        if found and len(found[0]["attempts"]) >= attempts:
            return found[0]["attempts"][attempts - 1]
        time.sleep(0.05)
    raise CheckFailed("спробу доставки вебхука", f"немає спроби за {timeout:.0f} с",
                      "Платіжний сервіс не зміг доставити подію; перевірте `lab status`.")


def resend(ctx: Context, event_id: str) -> dict:
    """Redeliver an event to the student's app by hand; its attempt."""
    before = payments(ctx, "GET", "/api/deliveries", params={"event_id": event_id,
                                                            "endpoint_id": endpoint(ctx)["id"]}).json()["data"]
    made = before[0]["attempts_made"] if before else 0
    payments(ctx, "POST", f"/api/events/{event_id}/redeliver", json={"endpoint_id": endpoint(ctx)["id"]})
    return delivered(ctx, event_id, made + 1)


def answered(code: int | None, body: str | None) -> str:
    if code is None:
        return f"немає відповіді ({(body or '')[:80]})"
    return f"{code} {short(body or '', 100)}"


def not_implemented(code: int | None, body: str | None) -> None:
    if code == 501 and "not implemented" in (body or ""):
        raise StudentError("not_implemented", "receiver")


def expect_accepted(attempt: dict, what: str) -> None:
    code, body = attempt["status_code"], attempt["response_body"]
    not_implemented(code, body)
    expect(code is not None and 200 <= code < 300, f"{what} → 2xx", answered(code, attempt["error"] or body))


def attack(ctx: Context, event_id: str, kind: str) -> None:
    resp = payments(ctx, "POST", f"/api/webhook_endpoints/{endpoint(ctx)['id']}/simulate_attack",
                    json={"kind": kind, "event_id": event_id, "age_s": 600})
    resp.raise_for_status()
    result = resp.json()
    not_implemented(result["status_code"], result["response_body"])
    expect(result["status_code"] in REFUSED, f"{kind} → 400/401/403",
           answered(result["status_code"], result["error"] or result["response_body"]))


def expect_order(ctx: Context, order_id: int, status: str, when: str) -> None:
    expect_equal(order_status(ctx, order_id), status, f"замовлення {order_id} {when}")


# --- signatures computed by the checker (the same recipes the payments service uses) ---------


def lecture_signature(secret: str, payload: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, ts: int, payload: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return "v1," + base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.{payload}".encode(), hashlib.sha256).digest()).decode()


def random_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def random_event() -> tuple[str, str]:
    event_id = "evt_" + secrets.token_hex(12)
    payload = json.dumps({"id": event_id, "type": "payment_intent.succeeded", "created": int(time.time()),
                          "data": {"object": {"id": "pi_" + secrets.token_hex(8), "amount": random.randint(100, 99999),
                                              "currency": "uah", "status": "succeeded"}}}, ensure_ascii=False, indent=2)
    return event_id, payload


# --- checks ---------------------------------------------------------------------------------


def check_verify_webhook(ctx: Context) -> None:
    secret, other = random_secret(), random_secret()
    _, payload = random_event()
    good = lecture_signature(secret, payload)
    cases = [
        ((payload, good, secret), True, "справжній підпис"),
        ((payload.replace('"uah"', '"usd"'), good, secret), False, "змінене тіло"),
        ((payload, good, other), False, "чужий секрет"),
        ((payload, good.removeprefix("sha256="), secret), False, "підпис без префікса sha256="),
        ((payload, "sha256=" + "0" * 64, secret), False, "вигаданий підпис"),
    ]
    for args, wanted, what in cases:
        got = ctx.call("verify_webhook", *args)
        expect(got is wanted, f"verify_webhook(...) для «{what}» → {wanted}", short(got))


def check_verify_signature(ctx: Context) -> None:
    secret, other = random_secret(), random_secret()
    event_id, payload = random_event()
    now = int(time.time())

    def headers(ts: int, signature: str) -> dict:
        return {"webhook-id": event_id, "webhook-timestamp": str(ts), "webhook-signature": signature,
                "content-type": "application/json"}

    good = standard_signature(secret, event_id, now, payload)
    cases = [
        ((headers(now, good), payload, secret), True, "справжній підпис"),
        ((headers(now, f"{standard_signature(other, event_id, now, payload)} {good}"), payload, secret), True,
         "два підписи через пробіл (ротація секрету), один — справжній"),
        ((headers(now, good), payload.replace('"uah"', '"usd"'), secret), False, "змінене тіло"),
        ((headers(now, good), payload, other), False, "чужий секрет"),
        ((headers(now - 360, standard_signature(secret, event_id, now - 360, payload)), payload, secret), False,
         "підпис правильний, але запиту 6 хвилин"),
        ((headers(now + 360, standard_signature(secret, event_id, now + 360, payload)), payload, secret), False,
         "час на 6 хвилин у майбутньому"),
        ((headers(now, good) | {"webhook-timestamp": str(now + 1)}, payload, secret), False,
         "змінений webhook-timestamp"),
        (({"webhook-id": event_id, "webhook-timestamp": str(now)}, payload, secret), False, "без webhook-signature"),
    ]
    for args, wanted, what in cases:
        got = ctx.call("verify_signature", *args)
        expect(got is wanted, f"verify_signature(...) для «{what}» → {wanted}", short(got))


COMPARED = ("verify_webhook", "verify_signature")


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _constant(node: ast.AST) -> bool:
    """A literal (or None), a tuple/list/set of literals, or len(...): what == may compare without leaking time."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_constant(e) for e in node.elts)
    return isinstance(node, ast.Call) and _called(node) == "len"


def reachable(sources: list[str], name: str) -> list[ast.FunctionDef] | None:
    """The last definition of function ``name`` in the cells, with every function of the cells it calls."""
    defined: dict[str, ast.FunctionDef] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        defined.update({n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))})
    if name not in defined:
        return None
    found, todo = [], [name]
    while todo:
        fn = defined.get(todo.pop())
        if fn is None or fn in found:
            continue
        found.append(fn)
        todo += [_called(n) for n in ast.walk(fn) if isinstance(n, ast.Call)]
    return found


def check_constant_time(ctx: Context) -> None:
    sources = ctx.student.sources()
    for name in COMPARED:
        functions = reachable(sources, name)
        expect(functions is not None, f"функція {name} у коді зошита", "її визначення не знайдено")
        nodes = [n for fn in functions for n in ast.walk(fn)]
        if any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n) for n in ast.walk(functions[0])):
            raise StudentError("not_implemented", name)
        digest = any(isinstance(n, ast.Call) and _called(n) == "compare_digest" for n in nodes)
        plain = [n for n in nodes if isinstance(n, ast.Compare)
                 and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in n.ops)
                 and not any(_constant(side) for side in [n.left, *n.comparators])]
        expect(digest and not plain, f"{name}: підписи порівнюються hmac.compare_digest, без ==",
               f"рядок {plain[0].lineno}: {short(ast.unparse(plain[0]), 80)}" if plain else "compare_digest не викликано")


def check_valid(ctx: Context) -> None:
    order = new_order(ctx)
    event_id = confirm(ctx, new_intent(ctx, order))
    expect_accepted(delivered(ctx, event_id), f"справжня подія payment_intent.succeeded (замовлення {order['id']})")
    expect_order(ctx, order["id"], "paid", "після справжньої доставки")


def refused_then_genuine(ctx: Context, kinds: tuple[str, ...]) -> None:
    order = new_order(ctx)
    intent = new_intent(ctx, order)
    event_id = quietly(ctx, lambda: confirm(ctx, intent))
    for kind in kinds:
        attack(ctx, event_id, kind)
    expect_order(ctx, order["id"], "pending", "після підроблених запитів")
    expect_accepted(resend(ctx, event_id), "та сама подія, доставлена чесно")
    expect_order(ctx, order["id"], "paid", "після чесної доставки")


def check_forged(ctx: Context) -> None:
    refused_then_genuine(ctx, ("forged_signature", "tampered_body", "unsigned"))


def check_stale(ctx: Context) -> None:
    refused_then_genuine(ctx, ("stale_replay", "retimestamped_replay"))


def check_duplicate(ctx: Context) -> None:
    order = new_order(ctx)
    event_id = confirm(ctx, new_intent(ctx, order))
    expect_accepted(delivered(ctx, event_id), "перша доставка")
    expect_order(ctx, order["id"], "paid", "після першої доставки")
    api(ctx, "PATCH", f"/api/orders/{order['id']}", json={"status": "shipped"}, auth=True).raise_for_status()
    again = resend(ctx, event_id)
    expect_accepted(again, "повторна доставка тієї самої події")
    try:
        status = json.loads(again["response_body"] or "").get("status")
    except (ValueError, AttributeError):
        status = None
    expect(status == "already_processed", 'тіло повтору: {"status": "already_processed"}',
           short(again["response_body"]))
    expect_order(ctx, order["id"], "shipped", "(відправлене) після повтору")


def check_out_of_order(ctx: Context) -> None:
    order = new_order(ctx)
    intent = new_intent(ctx, order)
    created = payments(ctx, "GET", "/api/events", params={"object_id": intent["id"]}).json()["data"][0]["id"]
    failed = confirm(ctx, intent, "pm_card_chargeDeclined")  # not subscribed: reaches nobody now
    succeeded = confirm(ctx, intent)
    expect_accepted(delivered(ctx, succeeded), "payment_intent.succeeded")
    expect_order(ctx, order["id"], "paid", "після succeeded")
    expect_accepted(resend(ctx, failed), "старіша payment_intent.payment_failed, що прийшла пізніше")
    expect_accepted(resend(ctx, created), "старіша payment_intent.created, що прийшла пізніше")
    expect_order(ctx, order["id"], "paid", "після запізнілих старіших подій")


APP = ("receiver",)  # not "app": check() without an id must not take ex03's app for this one
SERVICES = ("payments", "shop")

EXERCISE = Exercise(
    id="ex04",
    title="Приймач вебхуків: підпис, час, дублікати",
    services=SERVICES,
    checks=[
        Check("ex04.verify_webhook", 2, "verify_webhook checks the lecture's X-Webhook-Signature (sha256=<hex HMAC>)",
              "HMAC-SHA256 від тіла з ключем secret.encode(), hexdigest(), префікс 'sha256='; порівнюйте "
              "hmac.compare_digest, а не ==.",
              check_verify_webhook, ("verify_webhook",)),
        Check("ex04.verify_signature", 3, "verify_signature checks Standard Webhooks' signature and the 5-minute window",
              "Підписаний рядок: f'{webhook-id}.{webhook-timestamp}.{тіло}'; ключ — base64.b64decode(secret "
              "без 'whsec_'); результат — base64; у заголовку може бути кілька 'v1,...' через пробіл; "
              "abs(time.time() - timestamp) > 300 → False.",
              check_verify_signature, ("verify_signature",)),
        Check("ex04.constant_time", 1, "verify_webhook and verify_signature compare signatures with hmac.compare_digest",
              "Замініть expected == signature на hmac.compare_digest(expected, signature): == виходить на першій "
              "розбіжності, і за часом відповіді підпис можна підбирати символ за символом.",
              check_constant_time, COMPARED),
        Check("ex04.valid", 3, "a genuine payment_intent.succeeded is answered 2xx and marks the shop order paid",
              "Прочитайте сире тіло (await request.body()), перевірте підпис, візьміть "
              "data.object.metadata.order_id і зробіть PATCH /api/orders/{id} {'status': 'paid'} у магазині.",
              check_valid, APP, SERVICES),
        Check("ex04.forged", 2, "forged, tampered and unsigned requests get 4xx and change nothing",
              "Якщо verify_signature(...) повертає False — відповідайте 401 і нічого не змінюйте; id події "
              "запам'ятовуйте лише після успішної перевірки.",
              check_forged, APP, SERVICES),
        Check("ex04.stale", 2, "a replay older than 5 minutes, even re-timestamped, gets 4xx",
              "Перевіряйте webhook-signature (він охоплює час), а не лише X-Webhook-Signature: інакше "
              "атакувальник просто поставить свіжий webhook-timestamp.",
              check_stale, APP, SERVICES),
        Check("ex04.duplicate", 2, "a duplicate delivery answers 2xx already_processed and does not touch the order",
              "Як у лекції: якщо event_id уже в PROCESSED — return {'status': 'already_processed'} (з кодом 200).",
              check_duplicate, APP, SERVICES),
        Check("ex04.out_of_order", 2, "older events arriving late are acknowledged and leave the paid order paid",
              "Події можуть приходити не по порядку: на інші типи подій відповідайте 2xx і не змінюйте "
              "замовлення.",
              check_out_of_order, APP, SERVICES),
    ],
)
