"""labkit.micro: notebook 05's views of the registry, breakers, sagas and databases, drawn and live."""
from __future__ import annotations

import re
import time

import requests

from labkit.config import url
from labkit.micro import (BreakerWatch, Rows, SagaTimeline, _segments, breaker_watch, breakers, databases, in_flight,
                          login, registry, saga_timeline)

CUSTOMER = {"name": "Олена Коваленко", "email": "olena@example.com"}


def _line(seq: int, t_ms: float, step: str | None, kind: str, detail: str | None = None) -> dict:
    return {"seq": seq, "at": "2026-01-01T00:00:00.000Z", "t_ms": t_ms, "step": step, "kind": kind, "detail": detail}


def _declined_saga() -> dict:
    """A saga as the saga service returns it: the card declined, two steps compensated in reverse."""
    log = [_line(1, 0.1, None, "saga_started"),
           _line(2, 0.5, "create_order", "step_started"), _line(3, 0.8, "create_order", "step_succeeded", "ok"),
           _line(4, 1.0, "reserve_stock", "step_started"), _line(5, 10.0, "reserve_stock", "step_succeeded", "rsv"),
           _line(6, 12.0, "charge_payment", "step_started"), _line(7, 20.0, "charge_payment", "retry", "attempt 2"),
           _line(8, 23.0, "charge_payment", "step_failed", "card declined"),
           _line(9, 25.0, "charge_payment", "compensation_started"),
           _line(10, 40.0, "charge_payment", "compensated", "refunded nothing"),
           _line(11, 41.0, "reserve_stock", "compensation_started"),
           _line(12, 56.0, "reserve_stock", "compensated", "released ABC×1"),
           _line(13, 56.5, "create_order", "compensation_started"),
           _line(14, 57.0, "create_order", "compensated", "order rejected"),
           _line(15, 57.3, None, "saga_compensated")]
    names = ("create_order", "reserve_stock", "charge_payment", "create_shipment", "approve_order")
    steps = [{"name": n} for n in names]
    return {"saga_id": "saga_0123456789abcdef", "status": "compensated", "order_status": "rejected",
            "failed_step": "charge_payment", "reason": "card declined", "duration_ms": 57.3, "steps": steps, "log": log}


# --- drawn from data ---------------------------------------------------------------------------------

def test_a_saga_timeline_pairs_each_start_with_its_end():
    bars = SagaTimeline(_declined_saga()).bars()
    assert [(b["step"], b["kind"], b["outcome"]) for b in bars] == [
        ("create_order", "step", "done"), ("reserve_stock", "step", "done"), ("charge_payment", "step", "failed"),
        ("charge_payment", "compensation", "compensated"), ("reserve_stock", "compensation", "compensated"),
        ("create_order", "compensation", "compensated")]
    assert (bars[2]["from_ms"], bars[2]["to_ms"]) == (12.0, 23.0)  # the retry inside the step does not end it


def test_the_compensations_are_drawn_in_reverse_order_of_the_steps():
    timeline = SagaTimeline(_declined_saga())
    assert timeline.compensated() == ["charge_payment", "reserve_stock", "create_order"]
    drawn = timeline._repr_html_()
    undo = [(float(x), int(y)) for x, y in re.findall(r"<rect x='([\d.]+)' y='(\d+)' width='[\d.]+' height='8' "
                                                     r"fill='#f28e2b'", drawn)]
    assert len(undo) == 3
    assert [x for x, _ in undo] == sorted(x for x, _ in undo)  # later in time ...
    assert [y for _, y in undo] == sorted((y for _, y in undo), reverse=True)  # ... and higher up: the step before
    assert "charge_payment" in drawn and "card declined" in drawn and drawn.count("stroke-dasharray") == 2


def test_a_saga_timeline_as_text_names_the_failed_step_and_each_compensation():
    text = repr(SagaTimeline(_declined_saga()))
    assert text.splitlines()[0].endswith("failed at charge_payment: card declined")
    assert "↩ reserve_stock" in text and "released ABC×1" in text


def test_breaker_states_become_stretches_of_one_state():
    points = [(0.0, "closed"), (0.5, "closed"), (1.0, "open"), (4.0, "open"), (4.2, "half-open"), (4.3, "closed"),
              (6.0, "closed")]
    assert _segments(points) == [(0.0, 1.0, "closed"), (1.0, 4.2, "open"), (4.2, 4.3, "half-open"),
                                 (4.3, 6.0, "closed")]
    assert _segments([]) == []


def test_a_breaker_watch_merges_its_samples_with_the_transitions_the_breaker_recorded():
    watch = BreakerWatch("orders", "catalog", seconds=10)
    watch.started = 1000.0
    watch.samples = [(1000.1, "closed"), (1001.0, "open"), (1005.0, "closed")]
    watch.transitions = [{"at": "1970-01-01T00:16:44.500Z", "from": "open", "to": "half-open"},  # 1004.5
                         {"at": "1970-01-01T00:16:44.600Z", "from": "half-open", "to": "closed"}]
    watch.last = {"state": "closed", "calls": {"success": 3, "failure": 5, "rejected": 7}}
    assert repr(watch) == "orders/catalog: +0.1 s closed → +1.0 s open → +4.5 s half-open → +4.6 s closed"
    drawn = watch._repr_html_()
    assert "відхилених 7" in drawn and drawn.count("<rect") == 4


def test_rows_draw_a_table_and_colour_states():
    rows = Rows([{"breaker": "catalog", "state": "open"}], "Circuit breakers")
    assert "Circuit breakers" in repr(rows) and "catalog  open" in repr(rows)
    assert "<b style='color:#e15759'>open</b>" in rows._repr_html_()
    assert rows.column("state") == ["open"] and rows[0]["breaker"] == "catalog" and len(rows) == 1


# --- against the services ----------------------------------------------------------------------------

def test_login_gives_headers_the_gateway_accepts(micro_lab):
    headers = login()
    me = requests.get(url("gateway") + "/api/users/me", headers=headers, timeout=5)
    assert me.status_code == 200 and me.json()["email"] == CUSTOMER["email"]


def test_login_with_a_wrong_password_says_what_to_check(micro_lab):
    try:
        login(password="wrong-password")
    except RuntimeError as exc:
        assert "401" in str(exc) and "olena@example.com" in str(exc)
    else:
        raise AssertionError("a wrong password must not log in")


def test_registry_lists_both_catalog_copies_with_their_heartbeats(micro_lab):
    table = registry()
    catalog = [r for r in table if r["service"] == "catalog"]
    assert [r["instance"] for r in catalog] == ["catalog", "catalog-2"]
    assert all(r["status"] == "up" and 0 <= r["heartbeat_s_ago"] < 5 for r in catalog)
    assert catalog[1]["url"] == url("catalog-2")


def test_databases_names_each_services_own_file_and_tables(micro_lab):
    found = {r["file"]: r for r in databases()}
    assert found["users.sqlite3"]["tables"] == "users"
    assert "reservations" in found["catalog.sqlite3"]["tables"] and found["catalog.sqlite3"]["service"] == "catalog"
    assert found["orders-events.sqlite3"]["service"] == "orders"
    assert "catalog-2.sqlite3" not in found  # the two copies share one database


def test_breakers_and_in_flight_read_a_services_admin_and_metrics(micro_lab):
    assert breakers("orders").column("breaker") == ["catalog"]
    assert set(breakers("gateway").column("breaker")) >= {"catalog", "orders", "users"}
    assert in_flight("orders") == 0  # nothing but this very request


def test_a_breaker_watch_sees_the_breaker_open_and_close(micro_lab):
    orders = url("orders")
    body = {"customer": CUSTOMER, "items": [{"sku": "EL-008", "quantity": 1}]}
    watch = breaker_watch("orders", "catalog", seconds=4)
    requests.put(orders + "/admin/breakers/catalog", json={"fail_max": 1}, timeout=5)
    for copy in ("catalog", "catalog-2"):
        requests.put(url(copy) + "/admin/chaos", json={"error_rate": 1.0, "error_status": 503}, timeout=5)
    try:
        assert requests.post(orders + "/api/orders/sync", json=body, timeout=30).headers["X-Fallback"]
    finally:
        for copy in ("catalog", "catalog-2"):
            requests.delete(url(copy) + "/admin/chaos", timeout=5)
        requests.put(orders + "/admin/breakers/catalog", json={"fail_max": 5}, timeout=5)
    time.sleep(1.2)  # ORDERS_BREAKER_RESET_S in these tests
    assert requests.post(orders + "/api/orders/sync", json=body, timeout=30).status_code == 201
    watch.wait()
    assert [s for _, _, s in _segments(watch.states())] == ["closed", "open", "half-open", "closed"]


def test_saga_timeline_fetches_a_saga_by_its_id(micro_lab):
    saga = requests.post(url("saga") + "/api/sagas?wait=10", timeout=30, json={
        "customer": CUSTOMER, "items": [{"product_id": "ABC", "quantity": 1}], "shipping": {"city": "Ужгород"}}).json()
    timeline = saga_timeline(saga["saga_id"])
    assert timeline.compensated() == ["charge_payment", "reserve_stock", "create_order"]
    assert saga_timeline({"saga_id": saga["saga_id"]}).saga["log"]  # a saga from a list (no log) is fetched whole
