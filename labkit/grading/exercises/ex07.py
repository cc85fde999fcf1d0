"""ex07: a circuit breaker, client-side discovery with failover, and a saga's compensations.

The checks never take the student's word for what happened; they ask the services:

* **breaker**: the checker switches the catalog's chaos on and off and counts, in the catalog's
  own ``/metrics``, the requests that really reached it: an open circuit must not call at all;
* **discovery**: the checker registers instances in the registry itself, one of them a copy that
  does not exist (nothing listens at its address), and reads ``X-Served-By`` of every answer;
* **saga**: the checker reads stock and reservations from the catalog and payments and refunds
  from the payments service after each run: whatever failed, nothing may stay held or charged.

The grader's private catalog, registry, payments, shipping and carrier serve each submission
(``lab grade``); ``check()`` in a notebook uses the lab's own.
"""
from __future__ import annotations

import re
import time
import uuid

import requests

from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, short
from ..student import StudentError

SERVICES = ("catalog", "catalog-2", "registry", "payments", "shipping", "carrier")
BREAKER = ("catalog",)
DISCOVERY = ("catalog", "catalog-2", "registry")
SAGA = ("catalog", "payments", "shipping", "carrier")
UNSERVED_CITY = "Ужгород"  # the carrier does not deliver there: shipping refuses (422)


def service(ctx: Context, name: str, method: str, path: str, **kwargs) -> requests.Response:
    try:
        resp = requests.request(method, ctx.url(name) + path, timeout=15, **kwargs)
    except requests.RequestException as exc:
        raise CheckFailed(f"відповідь сервісу {name}", type(exc).__name__,
                          f"Сервіс {name} не відповідає; перевірте `lab status` і запустіть перевірку ще раз.") from None
    if resp.status_code >= 500:
        raise CheckFailed(f"відповідь сервісу {name}", f"{resp.status_code} {resp.text[:100]}",
                          f"Сервіс {name} відповів помилкою; перевірте `lab status` і спробуйте ще раз.")
    return resp


def chaos(ctx: Context, **switches) -> None:
    if switches:
        service(ctx, "catalog", "PUT", "/admin/chaos", json=switches).raise_for_status()
    else:
        service(ctx, "catalog", "DELETE", "/admin/chaos")


def reached(ctx: Context) -> float:
    """GET requests the catalog has answered so far (chaos-injected failures included), health checks aside."""
    text = service(ctx, "catalog", "GET", "/metrics").text
    return sum(float(v) for route, v in re.findall(
        r'^http_requests_total\{method="GET",route="([^"]*)",status="[^"]*"\} (\S+)', text, re.MULTILINE)
        if route not in ("/health", "/metrics"))


def attempt(ctx: Context, name: str, *args) -> tuple[str, object]:
    """("ok", what it returned) or ("raised", the exception's type); code not written yet propagates."""
    try:
        return "ok", ctx.call(name, *args)
    except StudentError as exc:
        if exc.kind != "exception":
            raise
        return "raised", exc.type


def calls(ctx: Context, n: int, product_id: str = "ABC") -> tuple[list[tuple[str, object]], float]:
    """``n`` calls of get_product: their outcomes and how many of them reached the catalog."""
    before = reached(ctx)
    outcomes = [attempt(ctx, "get_product", product_id) for _ in range(n)]
    return outcomes, reached(ctx) - before


def kinds(outcomes: list[tuple[str, object]]) -> list[str]:
    return [value if how == "raised" else "ok" for how, value in outcomes]


# --- step 1: the breaker ---------------------------------------------------------------------------------

def check_fetch(ctx: Context) -> None:
    before = reached(ctx)
    got = attempt(ctx, "fetch_product", "ABC")
    expect(got[0] == "ok" and isinstance(got[1], dict) and got[1].get("id") == "ABC",
           "fetch_product('ABC') повертає товар каталогу", short(got))
    missing = attempt(ctx, "fetch_product", "ZZ-999")
    expect(missing == ("raised", "ProductNotFound"), "fetch_product('ZZ-999') кидає ProductNotFound (404)", short(missing))
    chaos(ctx, error_rate=1.0, error_status=503)
    try:
        failing = attempt(ctx, "fetch_product", "ABC")
    finally:
        chaos(ctx)
    expect(failing == ("raised", "CatalogUnavailable"), "на 503 каталогу — CatalogUnavailable", short(failing))
    expect_equal(reached(ctx) - before, 3, "запитів до каталогу на три виклики")


def check_opens(ctx: Context) -> None:
    ctx.call("new_breaker", 3, 30.0)
    chaos(ctx, error_rate=1.0, error_status=503)
    try:
        outcomes, count = calls(ctx, 6)
    finally:
        chaos(ctx)
    expect_equal(kinds(outcomes), ["CatalogUnavailable"] * 3 + ["CircuitOpenError"] * 3, "6 викликів get_product")
    expect(count == 3, "до каталогу дійшли лише 3 виклики: розімкнений ланцюг не кличе каталог",
           f"дійшло {count:.0f}")
    expect_equal(ctx.call("breaker_state"), "open", "стан")
    outcomes, count = calls(ctx, 2)  # the catalog is well again, but the circuit stays open until its timeout
    expect(kinds(outcomes) == ["CircuitOpenError"] * 2 and count == 0,
           "поки не минув reset_timeout — CircuitOpenError без запиту", f"{kinds(outcomes)}, дійшло {count:.0f}")


def check_client_errors_do_not_count(ctx: Context) -> None:
    ctx.call("new_breaker", 2, 30.0)
    outcomes, count = calls(ctx, 4, "ZZ-999")
    expect_equal(kinds(outcomes), ["ProductNotFound"] * 4, "4 запити неіснуючого товару")
    expect(count == 4 and ctx.call("breaker_state") == "closed",
           "404 — помилка клієнта, не збій каталогу: ланцюг лишається closed", f"стан {ctx.call('breaker_state')}")
    outcomes, _ = calls(ctx, 1)
    expect_equal(kinds(outcomes), ["ok"], "наступний виклик")


def check_half_open(ctx: Context) -> None:
    ctx.call("new_breaker", 2, 1.0)
    chaos(ctx, error_rate=1.0, error_status=503)
    try:
        calls(ctx, 2)
        expect_equal(ctx.call("breaker_state"), "open", "стан після 2 невдач")
        time.sleep(1.2)
        outcomes, count = calls(ctx, 1)
        expect(count == 1 and kinds(outcomes) == ["CatalogUnavailable"],
               "після reset_timeout — один пробний виклик до каталогу", f"{kinds(outcomes)}, дійшло {count:.0f}")
        expect_equal(ctx.call("breaker_state"), "open", "стан після невдалого пробного виклику")
        outcomes, count = calls(ctx, 2)
        expect(count == 0 and kinds(outcomes) == ["CircuitOpenError"] * 2,
               "після невдалої проби ланцюг знову розімкнений на reset_timeout", f"{kinds(outcomes)}, дійшло {count:.0f}")
    finally:
        chaos(ctx)


def check_recovers(ctx: Context) -> None:
    ctx.call("new_breaker", 2, 1.0)
    chaos(ctx, error_rate=1.0, error_status=503)
    try:
        calls(ctx, 2)
    finally:
        chaos(ctx)
    time.sleep(1.2)
    outcomes, count = calls(ctx, 1)
    expect(kinds(outcomes) == ["ok"] and count == 1, "пробний виклик вдався", f"{kinds(outcomes)}, дійшло {count:.0f}")
    expect_equal(ctx.call("breaker_state"), "closed", "стан після вдалої проби")
    chaos(ctx, error_rate=1.0, error_status=503)
    try:
        outcomes, count = calls(ctx, 1)  # one failure after closing: the count started again, still closed
    finally:
        chaos(ctx)
    expect(ctx.call("breaker_state") == "closed" and count == 1,
           "після закриття лічильник невдач з нуля: одна невдача ланцюг не розмикає", f"стан {ctx.call('breaker_state')}")


def check_timeout(ctx: Context) -> None:
    ctx.call("new_breaker", 5, 30.0)
    before = reached(ctx)
    chaos(ctx, latency_ms=4000)
    try:
        started = time.monotonic()
        got = attempt(ctx, "get_product", "ABC")
        took = time.monotonic() - started
    finally:
        chaos(ctx)
        # The catalog answers the abandoned request when its 4 s are up: wait for that, or it would
        # count in the next check's window (check() may run again at once).
        deadline = time.monotonic() + 6
        while reached(ctx) - before < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    expect(got[0] == "raised" and took < 3.0, "повільний каталог (4 с): виклик обривається таймаутом за ~1 с",
           f"{short(got)} за {took:.1f} с")
    expect(ctx.call("breaker_state") == "closed" and got[1] not in ("CircuitOpenError",),
           "таймаут — невдача, передана далі", short(got))


# --- step 2: discovery -----------------------------------------------------------------------------------

def registry(ctx: Context, method: str, path: str, **kwargs) -> requests.Response:
    return service(ctx, "registry", method, "/api/services" + path, **kwargs)


def both_up(ctx: Context) -> list[str]:
    """Wait (a few seconds at most) until both catalog copies are registered and up."""
    deadline = time.monotonic() + 15
    while True:
        resp = registry(ctx, "GET", "/catalog")
        found = sorted(i["url"] for i in resp.json()) if resp.status_code == 200 else []
        if len(found) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expect(len(found) >= 2, "у реєстрі обидва екземпляри каталогу", short(found),
           "Екземпляри каталогу не зареєструвалися в реєстрі; перевірте `lab status` (catalog, catalog-2, registry).")
    return found


def dead_url() -> str:
    """An address where nothing listens (a port of the reserved range nobody binds)."""
    return f"http://127.0.0.1:{9}"


def check_resolve(ctx: Context) -> None:
    found = both_up(ctx)
    got = ctx.call("resolve", "catalog")
    expect(isinstance(got, list) and sorted(got) == found, f"resolve('catalog') == {found}", short(got))
    ghost = ctx.unique("ghost")
    expect_equal(ctx.call("resolve", ghost), [], f"resolve('{ghost}') (сервіс, якого реєстр не знає)")


def check_round_robin(ctx: Context) -> None:
    both_up(ctx)
    served = [ctx.call("served_by", "/api/products/ABC") for _ in range(6)]
    expect(set(served) == {"catalog", "catalog-2"}, "відповідають обидва екземпляри", short(served))
    expect(all(a != b for a, b in zip(served, served[1:])), "по колу: жоден екземпляр двічі поспіль", short(served))


def check_failover(ctx: Context) -> None:
    both_up(ctx)
    dead = f"dead-{uuid.uuid4().hex[:8]}"
    registry(ctx, "POST", "/catalog/instances", json={"instance_id": dead, "url": dead_url(), "ttl_s": 300})
    try:
        listed = [i["instance_id"] for i in registry(ctx, "GET", "/catalog").json()]
        expect(dead in listed, "реєстр перелічує «мертвий» екземпляр", short(listed))
        outcomes = [attempt(ctx, "served_by", "/api/products/ABC") for _ in range(6)]
    finally:
        registry(ctx, "DELETE", f"/catalog/instances/{dead}")
    expect(all(how == "ok" for how, _ in outcomes),
           "усі 6 викликів вдалися: екземпляр, що не відповідає, пропущено", short(kinds(outcomes)))
    expect({value for _, value in outcomes} == {"catalog", "catalog-2"}, "живі екземпляри й далі по черзі",
           short([v for _, v in outcomes]))


def check_no_instance(ctx: Context) -> None:
    name = ctx.unique("gone")
    for n in (1, 2):
        registry(ctx, "POST", f"/{name}/instances", json={"instance_id": f"g{n}", "url": f"http://127.0.0.{n + 1}:9",
                                                          "ttl_s": 300})
    try:
        started = time.monotonic()
        got = attempt(ctx, "get_via_registry", name, "/health")
        took = time.monotonic() - started
    finally:
        for n in (1, 2):
            registry(ctx, "DELETE", f"/{name}/instances/g{n}")
    expect(got == ("raised", "NoInstanceError") and took < 10,
           "жоден екземпляр не відповідає — NoInstanceError (кожен спробувано раз)", f"{short(got)} за {took:.1f} с")


# --- step 3: the saga ---------------------------------------------------------------------------------------

def stock(ctx: Context, product_id: str) -> int:
    return service(ctx, "catalog", "GET", f"/api/products/{product_id}").json()["stock"]


def reservations(ctx: Context, order_id: str) -> list[dict]:
    return service(ctx, "catalog", "GET", "/api/reservations", params={"order_id": order_id}).json()


def payments_of(ctx: Context, order_id: str) -> list[dict]:
    return service(ctx, "payments", "GET", "/api/payment_intents", params={"order_id": order_id}).json()["data"]


def refunded(ctx: Context, intent: dict) -> int:
    return service(ctx, "payments", "GET", f"/api/payment_intents/{intent['id']}").json()["amount_refunded"]


def saga(ctx: Context, items: list[dict], card: str = "pm_card_visa", city: str = "Київ") -> tuple[str, dict]:
    order_id = ctx.unique("ex07")
    got = ctx.call("place_order", order_id, items, card, city)
    expect(isinstance(got, dict) and got.get("status") in ("completed", "compensated"),
           "place_order повертає dict зі status completed або compensated", short(got))
    return order_id, got


def nothing_left(ctx: Context, order_id: str, before: dict[str, int]) -> None:
    held = [r for r in reservations(ctx, order_id) if r["status"] == "held"]
    expect(held == [], "жодного резерву не лишилося (release кожного)", short(held))
    for product_id, count in before.items():
        expect_equal(stock(ctx, product_id), count, f"залишок {product_id}")
    kept = [p for p in payments_of(ctx, order_id) if p["status"] == "succeeded" and refunded(ctx, p) < p["amount"]]
    expect(kept == [], "жодних списаних і не повернутих грошей", short([(p["id"], p["amount"]) for p in kept]))


def check_saga_completes(ctx: Context) -> None:
    before = stock(ctx, "XYZ")
    order_id, got = saga(ctx, [{"product_id": "XYZ", "quantity": 2}])
    expect_equal(got.get("status"), "completed", "status")
    expect_equal(stock(ctx, "XYZ"), before - 2, "залишок XYZ після замовлення 2 шт.")
    intents = payments_of(ctx, order_id)
    price = service(ctx, "catalog", "GET", "/api/products/XYZ").json()["price"]
    expect(len(intents) == 1 and intents[0]["status"] == "succeeded" and intents[0]["amount"] == 2 * price * 100,
           f"один успішний платіж на {2 * price} грн", short(intents))
    shipment = service(ctx, "shipping", "GET", f"/api/shipments/{order_id}")
    expect(shipment.status_code == 200 and shipment.json()["waybill"] == got.get("waybill"),
           "доставку створено, накладна та сама", short(got.get("waybill")))


def check_card_declined(ctx: Context) -> None:
    before = {"ABC": stock(ctx, "ABC"), "XYZ": stock(ctx, "XYZ")}
    order_id, got = saga(ctx, [{"product_id": "ABC", "quantity": 1}, {"product_id": "XYZ", "quantity": 1}],
                         card="pm_card_chargeDeclined")
    expect(got.get("status") == "compensated" and got.get("failed_step") == "charge",
           "status compensated, failed_step charge", short(got))
    expect(len(reservations(ctx, order_id)) == 2, "обидва товари спершу зарезервовано", short(reservations(ctx, order_id)))
    nothing_left(ctx, order_id, before)


def check_shipping_refused(ctx: Context) -> None:
    before = {"ABC": stock(ctx, "ABC")}
    order_id, got = saga(ctx, [{"product_id": "ABC", "quantity": 1}], city=UNSERVED_CITY)
    expect(got.get("status") == "compensated" and got.get("failed_step") == "ship",
           "status compensated, failed_step ship", short(got))
    charged = payments_of(ctx, order_id)
    expect(len(charged) == 1 and charged[0]["status"] == "succeeded", "гроші спершу списано", short(charged))
    expect_equal(refunded(ctx, charged[0]), charged[0]["amount"], "повернуто (копійок)")
    nothing_left(ctx, order_id, before)


def check_stock_short(ctx: Context) -> None:
    short_of = stock(ctx, "HM-001")
    before = {"XYZ": stock(ctx, "XYZ"), "HM-001": short_of}
    order_id, got = saga(ctx, [{"product_id": "XYZ", "quantity": 1}, {"product_id": "HM-001",
                                                                      "quantity": short_of + 1}])
    expect(got.get("status") == "compensated" and got.get("failed_step") == "reserve",
           "status compensated, failed_step reserve", short(got))
    expect_equal(payments_of(ctx, order_id), [], "платежів (до оплати не дійшло)")
    nothing_left(ctx, order_id, before)


EXERCISE = Exercise(
    id="ex07",
    title="Circuit breaker, service discovery, сага з компенсаціями",
    services=SERVICES,
    checks=[
        Check("ex07.fetch", 1, "fetch_product: the product on 200, ProductNotFound on 404, CatalogUnavailable on 5xx",
              "404 → raise ProductNotFound(product_id); status >= 500 → raise CatalogUnavailable(...); інакше resp.json().",
              check_fetch, ("fetch_product",), BREAKER),
        Check("ex07.opens", 2, "after fail_max failures the circuit opens and calls fail fast without reaching the catalog",
              "У call: після fail_max невдач поспіль state = 'open' і opened_at = time.monotonic(); у стані open "
              "до спливу reset_timeout — raise CircuitOpenError, не викликаючи fn.",
              check_opens, ("get_product", "new_breaker", "breaker_state", "fetch_product"), BREAKER),
        Check("ex07.client_errors", 1, "a client's mistake (404) passes through without counting as a failure",
              "except self.exclude: raise — до загального except Exception, і лічильник не збільшуйте.",
              check_client_errors_do_not_count, ("get_product", "new_breaker", "breaker_state"), BREAKER),
        Check("ex07.half_open", 2, "after reset_timeout one trial call goes through; if it fails the circuit opens again",
              "У стані open після reset_timeout: state = 'half-open' і виклик fn; невдача в half-open — одразу знову "
              "open з новим opened_at.",
              check_half_open, ("get_product", "new_breaker", "breaker_state"), BREAKER),
        Check("ex07.recovers", 2, "a successful trial closes the circuit and the failure count starts again",
              "Після успішного виклику: state = 'closed', failures = 0.",
              check_recovers, ("get_product", "new_breaker", "breaker_state"), BREAKER),
        Check("ex07.timeout", 1, "a slow catalog is cut off by a timeout (about 1 s), which counts as a failure",
              "requests.get(..., timeout=1): без таймауту виклик чекає, скільки захоче каталог.",
              check_timeout, ("get_product", "new_breaker", "breaker_state", "fetch_product"), BREAKER),
        Check("ex07.resolve", 1, "resolve asks the registry for the instances that are up (a service it does not know: [])",
              "GET {REGISTRY}/api/services/{service}; 404 → []; інакше [i['url'] for i in resp.json() if i['status'] == 'up'].",
              check_resolve, ("resolve",), DISCOVERY),
        Check("ex07.round_robin", 2, "get_via_registry takes the instances in turn (round robin)",
              "Лічильник поза функцією (itertools.count()): start = next(_turn) % len(urls); "
              "пробуйте urls[start:] + urls[:start].",
              check_round_robin, ("served_by", "get_via_registry", "resolve"), DISCOVERY),
        Check("ex07.failover", 2, "an instance that does not answer is skipped for the next one: every call succeeds",
              "Обгорніть requests.get у try/except (requests.ConnectionError, requests.Timeout): continue.",
              check_failover, ("served_by", "get_via_registry", "resolve"), DISCOVERY),
        Check("ex07.no_instance", 1, "when no instance answers, NoInstanceError after trying each once",
              "Після циклу по всіх адресах — raise NoInstanceError(...), без нескінченних повторів.",
              check_no_instance, ("get_via_registry", "resolve"), DISCOVERY),
        Check("ex07.saga", 1, "place_order reserves, charges and ships: completed, stock held, paid once, shipped",
              "Послідовно: reserve для кожного товару, charge(order_id, сума, картка), ship(order_id, місто, сума); "
              "поверніть {'status': 'completed', 'waybill': ...}.",
              check_saga_completes, ("place_order",), SAGA),
        Check("ex07.card_declined", 2, "a declined card: every reservation released, nothing charged, status compensated",
              "except StepFailed: for reservation_id in reversed(reservations): release(reservation_id); "
              "поверніть {'status': 'compensated', 'failed_step': 'charge', ...}.",
              check_card_declined, ("place_order",), SAGA),
        Check("ex07.shipping_refused", 2, "a refused shipment: the payment refunded in full and the stock released",
              "Якщо payment_id уже є — refund(payment_id) першим (зворотний порядок), потім release кожного резерву.",
              check_shipping_refused, ("place_order",), SAGA),
        Check("ex07.stock_short", 1, "no stock for a later item: the items reserved before are released, no charge",
              "Резерви додавайте до списку одразу після кожного reserve: тоді компенсація знає, що вже зроблено.",
              check_stock_short, ("place_order",), SAGA),
    ],
)
