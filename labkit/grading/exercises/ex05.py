"""ex05: a resilient client. Backoff with jitter, a stop condition, Retry-After, one Idempotency-Key per payment.

The flaky endpoint is the payments service's ``POST /api/payment_intents`` under its
``/admin/flaky`` switch (see ``labservices/payments/flaky.py``): it fails the next calls on
purpose, including after the payment was created (``500_after_commit``, ``timeout``), and
keeps a journal of every call: when it came, with which ``Idempotency-Key``, what it got.
The checks read that journal and the list of payments, so a client that retries too fast,
ignores ``Retry-After``, never stops or changes its key is seen doing it.
"""
from __future__ import annotations

import random
import re
import time

import requests

from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, expect_type, short
from ..student import StudentError

SERVICES = ("payments",)


def payments(ctx: Context, method: str, path: str, **kwargs) -> requests.Response:
    resp = requests.request(method, ctx.url("payments") + path, timeout=15, **kwargs)
    if resp.status_code >= 500:
        raise CheckFailed("відповідь платіжного сервісу", f"{resp.status_code} {resp.text[:100]}",
                          "Платіжний сервіс відповів помилкою; перевірте `lab status` і спробуйте ще раз.")
    return resp


def flaky(ctx: Context, failures: list[str], **extra) -> None:
    payments(ctx, "PUT", "/admin/flaky", json={"failures": failures, **extra}).raise_for_status()


def journal(ctx: Context) -> list[dict]:
    return payments(ctx, "GET", "/admin/flaky").json()["journal"]


def intents_for(ctx: Context, order_id: int) -> list[dict]:
    return payments(ctx, "GET", "/api/payment_intents", params={"order_id": str(order_id)}).json()["data"]


def new_order_id() -> int:
    return random.randint(10**8, 10**9)


def run(ctx: Context, failures: list[str], order_id: int, amount: int | None = None, switch: dict | None = None,
        **kwargs) -> tuple[object, StudentError | None, list[dict]]:
    """create_payment under the flaky switch: (what it returned, the exception it raised, the journal).

    Only an exception the student's code raised on purpose is returned; "not implemented" and the
    like propagate. The switch is cleared afterwards, whatever happens.
    """
    flaky(ctx, failures, **(switch or {}))
    try:
        try:
            got, error = ctx.call("create_payment", order_id, amount or random.randint(100, 99_999), **kwargs), None
        except StudentError as exc:
            if exc.kind != "exception":
                raise
            got, error = None, exc
        return got, error, journal(ctx)
    finally:
        payments(ctx, "DELETE", "/admin/flaky")


def succeeded(got, error: StudentError | None) -> None:
    if error is not None:
        raise error


def gaps(calls: list[dict]) -> list[float]:
    return [round(b["at"] - a["at"], 3) for a, b in zip(calls, calls[1:])]


def expect_intent(got, calls: list[dict]) -> None:
    expect_type(got, dict, "create_payment(...)")
    expect(got.get("id") == calls[-1]["intent_id"], f"платіж з id {calls[-1]['intent_id']}", short(got, 120))


# --- checks ---------------------------------------------------------------------------


def check_backoff(ctx: Context) -> None:
    for base, cap in ((0.5, 4.0), (0.2, 30.0)):
        for attempt in range(1, 8):
            floor = min(cap, base * 2 ** (attempt - 1))
            got = ctx.call("backoff_delay", attempt, base, cap)
            expect(isinstance(got, (int, float)) and not isinstance(got, bool) and floor <= got <= floor + base,
                   f"backoff_delay({attempt}, {base}, {cap}) між {floor:g} і {floor + base:g}", short(got))
    got = ctx.call("backoff_delay", 60, 1.0, 10.0)
    expect(isinstance(got, (int, float)) and 10.0 <= got <= 11.0, "backoff_delay(60, 1, 10) між 10 і 11 (стеля)",
           short(got))


def check_jitter(ctx: Context) -> None:
    values = [ctx.call("backoff_delay", 3, 1.0, 30.0) for _ in range(8)]
    expect(all(isinstance(v, (int, float)) for v in values), "числа", short(values))
    expect(len({round(v, 6) for v in values}) >= 4 and max(values) - min(values) > 0.05,
           "різні значення (випадковий jitter)", short([round(v, 3) for v in values]))


def check_retry_5xx(ctx: Context) -> None:
    got, error, calls = run(ctx, ["503", "500", "502"], new_order_id(), base=0.1, max_attempts=5, timeout=2.0)
    succeeded(got, error)
    expect_equal([c["outcome"] for c in calls], ["503", "500", "502", "ok"], "спроби")
    expect_intent(got, calls)
    for n, gap in enumerate(gaps(calls), start=1):
        floor = 0.1 * 2 ** (n - 1)
        expect(floor - 0.02 <= gap <= floor + 0.1 + 0.4, f"пауза перед повтором {n}: {floor:g}–{floor + 0.1:g} с",
               f"паузи: {gaps(calls)} с")


def check_retry_after(ctx: Context) -> None:
    got, error, calls = run(ctx, ["429"], new_order_id(), switch={"retry_after_s": 1}, base=0.1, max_attempts=5,
                            timeout=2.0)
    succeeded(got, error)
    expect_equal([c["outcome"] for c in calls], ["429", "ok"], "спроби")
    expect_intent(got, calls)
    expect(0.95 <= gaps(calls)[0] <= 2.0, "пауза Retry-After: 1 с перед повтором", f"пауза {gaps(calls)[0]} с")


def check_idempotency(ctx: Context) -> None:
    order_id = new_order_id()
    got, error, calls = run(ctx, ["500_after_commit", "timeout"], order_id, switch={"hold_s": 1.5}, base=0.1,
                            max_attempts=5, timeout=0.5)
    found = intents_for(ctx, order_id)
    expect(len(found) == 1, f"рівно один платіж для замовлення {order_id}", f"платежів: {len(found)}")
    keys = [c["idempotency_key"] for c in calls]
    expect(len(calls) >= 3 and len(set(keys)) == 1 and None not in keys,
           "один і той самий Idempotency-Key у кожній спробі", f"ключі спроб: {short(keys)}")
    succeeded(got, error)
    expect_type(got, dict, "create_payment(...)")
    expect_equal(got.get("id"), found[0]["id"], "id платежу")
    other = new_order_id()
    again, error, _ = run(ctx, [], other, base=0.1, max_attempts=5, timeout=2.0)
    succeeded(again, error)
    expect(isinstance(again, dict) and len(intents_for(ctx, other)) == 1, "наступне замовлення — свій платіж",
           short(again))


def _refusals(ctx: Context) -> float:
    text = payments(ctx, "GET", "/metrics").text
    return sum(float(m) for m in re.findall(
        r'^http_requests_total\{[^}]*route="/api/payment_intents"[^}]*status="400"[^}]*\} (\S+)', text, re.MULTILINE))


def check_stop(ctx: Context) -> None:
    started = time.monotonic()
    got, error, calls = run(ctx, ["503"] * 8, new_order_id(), base=0.05, max_attempts=3, timeout=2.0)
    expect(error is not None, "виняток після 3 невдалих спроб", f"повернула {short(got, 80)}")
    expect(len(calls) == 3, "рівно 3 спроби (max_attempts=3), потім виняток", f"спроб: {len(calls)}")
    expect(time.monotonic() - started < 8, "зупинка без зайвого очікування", "занадто довго")
    before = _refusals(ctx)
    got, error, _ = run(ctx, [], new_order_id(), amount=-1, base=0.05, max_attempts=3, timeout=2.0)
    refused = _refusals(ctx) - before
    expect(error is not None, "виняток на 400 (від'ємна сума)", f"повернула {short(got, 80)}")
    expect(refused == 1, "400 не повторюють: рівно 1 запит", f"запитів з відповіддю 400: {refused:.0f}")


EXERCISE = Exercise(
    id="ex05",
    title="Стійкий клієнт: повтори, jitter, Idempotency-Key",
    services=SERVICES,
    checks=[
        Check("ex05.backoff", 2, "backoff_delay grows as base·2^(attempt−1), capped, plus up to base of jitter",
              "return min(cap, base * 2 ** (attempt - 1)) + random.uniform(0, base) — як tenacity "
              "wait_exponential + wait_random.",
              check_backoff, ("backoff_delay",)),
        Check("ex05.jitter", 1, "backoff_delay is random (jitter), so clients do not retry in lockstep",
              "Додайте random.uniform(0, base): інакше тисячі клієнтів повторюють в одну мить.",
              check_jitter, ("backoff_delay",)),
        Check("ex05.retry_5xx", 2, "create_payment retries 5xx with backoff_delay pauses and returns the payment",
              "У циклі for attempt in range(1, max_attempts + 1): при 500/502/503/504 — "
              "time.sleep(backoff_delay(attempt, base)) і повтор.",
              check_retry_5xx, ("create_payment", "backoff_delay"), SERVICES),
        Check("ex05.retry_after", 2, "after 429 create_payment waits Retry-After seconds, not its own backoff",
              "Якщо у відповіді є Retry-After — спіть float(resp.headers['Retry-After']) секунд.",
              check_retry_after, ("create_payment",), SERVICES),
        Check("ex05.idempotency", 3, "one Idempotency-Key for all attempts: a lost answer or a timeout makes one payment",
              "Створіть ключ (uuid.uuid4()) один раз до циклу і шліть його в кожній спробі; таймаут "
              "(requests.Timeout) теж повторюйте.",
              check_idempotency, ("create_payment",), SERVICES),
        Check("ex05.stop", 2, "create_payment stops after max_attempts and never retries a 4xx (it raises)",
              "Після останньої спроби — raise RuntimeError(...); на 400/401/403/404/422 — одразу "
              "resp.raise_for_status(), без повторів.",
              check_stop, ("create_payment",), SERVICES),
    ],
)
