"""ex10 (integration middleware): full marks for the solution, zero for the starter, and each plausible
mistake loses its check's points — in the student's kernel (``check()``) and through ``lab grade``,
against the real CRM, warehouse, mailer and mailbox.
"""
from __future__ import annotations

import csv
import shutil

import pytest

from labkit.check import check
from labkit.grading import batch
from labkit.grading.sandbox import Limits
from labkit.procs import free_port
from tests.conftest import running_host
from tests.grading.conftest import solution_path, starter_path
from tests.grading.test_check import namespace_of

POINTS = {"ex10": 22}
EX10 = ["crm", "warehouse", "mailer", "mailbox", "shop", "carrier"]


@pytest.fixture(scope="module")
def ex10_lab(tmp_path_factory):
    with running_host(EX10, tmp_path_factory.mktemp("ex10"), {"LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}):
        yield


def lost(feedback) -> set[str]:
    return {r.check for r in feedback.reports[0].results if not r.passed}


def test_ex10_solution_scores_full_marks_in_the_kernel(ex10_lab):
    feedback = check("ex10", namespace=namespace_of(solution_path("ex10")))
    assert (feedback.score, feedback.max_score) == (POINTS["ex10"], POINTS["ex10"]), str(feedback)


def test_ex10_starter_scores_zero_and_says_not_implemented(ex10_lab):
    feedback = check("ex10", namespace=namespace_of(starter_path("ex10")))
    assert feedback.score == 0, str(feedback)
    for result in feedback.reports[0].results:
        assert not result.passed and "ще не реалізовано" in result.message, result


def _mutant(change) -> dict:
    ns = namespace_of(solution_path("ex10"))
    change(ns)
    return ns


def _no_dedup(ns):  # forgets which orders it ran: every replayed webhook runs again
    ns["PROCESSED"] = type("Forgetful", (dict,), {"__contains__": lambda self, key: False})()


def _no_retries(ns):
    ns["with_retries"] = lambda step, *args, **kw: step(*args)


def _retries_everything(ns):
    original_checked = ns["checked"]

    def checked(resp):
        if resp.status_code >= 400:
            raise ns["TransientError"](f"{resp.status_code}")
        return original_checked(resp)
    ns["checked"] = checked


def _post_without_lookup(ns):
    import requests

    def upsert_contact(customer, request_id):
        headers = {"Authorization": f"Bearer {ns['crm_token']()}", "X-Request-ID": request_id}
        resp = requests.post(f"{ns['CRM']}/api/contacts", json={"email": customer["email"]}, headers=headers, timeout=5)
        return ns["checked"](resp)["id"]
    ns["upsert_contact"] = upsert_contact


def _random_message_id(ns):
    import requests

    def send_confirmation(order, request_id):
        message = {"subject": f"Замовлення {order['order_id']} підтверджено", "text": "Дякуємо!",
                   "to": [{"email": order["customer"]["email"]}]}
        resp = requests.post(f"{ns['MAILER']}/api/1.0/messages/send", json={"key": ns["MAILER_KEY"], "message": message},
                             timeout=10)
        return ns["checked"](resp)[0]["_id"]
    ns["send_confirmation"] = send_confirmation


def _no_request_id_in_logs(ns):
    original = ns["log"].info

    def info(message, *args, extra=None, **kwargs):
        return original(message, *args, extra={k: v for k, v in (extra or {}).items() if k != "request_id"}, **kwargs)
    ns["log"].info = info


def _forgets_dead_letters(ns):
    ns["DEAD_LETTERS"] = type("Leaky", (dict,), {"__setitem__": lambda self, key, value: None})()


MUTANTS = {
    "no dedup": (_no_dedup, {"ex10.idempotent"}),
    "no retries": (_no_retries, {"ex10.retries"}),
    "retries a 409 too": (_retries_everything, {"ex10.retries"}),
    "POST without looking up": (_post_without_lookup, {"ex10.crm_upsert"}),
    "a new Message-Id per send": (_random_message_id, {"ex10.email"}),
    "logs without request_id": (_no_request_id_in_logs, {"ex10.logs"}),
    "dead letters not kept": (_forgets_dead_letters, {"ex10.dead_letter"}),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_ex10_a_plausible_mistake_loses_its_checks(ex10_lab, name):
    change, expected = MUTANTS[name]
    feedback = check("ex10", namespace=_mutant(change))
    assert expected <= lost(feedback), (name, lost(feedback), str(feedback))
    assert 0 < feedback.score < POINTS["ex10"], str(feedback)


def test_ex10_lab_grade_gives_the_solution_full_marks_and_the_starter_zero(tmp_path):
    subs = tmp_path / "subs"
    for student, path in (("alice", solution_path("ex10")), ("bob", starter_path("ex10"))):
        (subs / student).mkdir(parents=True)
        shutil.copy(path, subs / student / path.name)
    batch.grade(subs, tmp_path / "out", limits=Limits(timeout=120, step_timeout=30), workers=2)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (rows["alice"]["ex10"], rows["alice"]["status"]) == (str(POINTS["ex10"]), "ok"), rows["alice"]["notes"]
    assert rows["bob"]["ex10"] == "0", rows["bob"]["notes"]


# --- ex12: a Pact consumer test of a shop client, verified against the real shop and broken ones ---------

POINTS["ex12"] = 16


def test_ex12_solution_scores_full_marks_in_the_kernel(shop_url):
    feedback = check("ex12", namespace=namespace_of(solution_path("ex12")))
    assert (feedback.score, feedback.max_score) == (POINTS["ex12"], POINTS["ex12"]), str(feedback)


def test_ex12_starter_scores_zero_and_says_not_implemented(shop_url):
    feedback = check("ex12", namespace=namespace_of(starter_path("ex12")))
    assert feedback.score == 0, str(feedback)
    for result in feedback.reports[0].results:
        assert not result.passed and "ще не реалізовано" in result.message, result


def _describe_product(body: dict):
    def describe(pact):
        (pact.upon_receiving("a request for product 1").given("product 1 exists")
         .with_request("GET", "/api/products/1").will_respond_with(200)
         .with_body(body, content_type="application/json"))
    return describe


def _describe_order(status: int, location):
    def describe(pact):
        response = (pact.upon_receiving("a new order").given("customer 123 exists")
                    .with_request("POST", "/api/orders").with_header("X-API-Key", "manager-key-456")
                    .with_body({"customer_id": 123, "items": [{"product_id": 1, "quantity": 1}]},
                               content_type="application/json")
                    .will_respond_with(status))
        if location is not None:
            response.with_header("Location", location)
        response.with_body({"id": 98766, "status": "pending", "total": 45000}, content_type="application/json")
    return describe


def _ex12_mutants():
    from pact import match

    regex = match.regex("http://127.0.0.1:8001/api/orders/98766", regex=r".*/api/orders/\d+$")
    typed = {"title": match.string("Ноутбук"), "price": match.number(45000), "in_stock": match.boolean(True)}
    return {
        "no in_stock in the contract": ("describe_product", _describe_product(
            {"title": match.string("Ноутбук"), "price": match.number(45000)}), {"ex12.missing_field"}),
        "price as anything": ("describe_product", _describe_product(
            {**typed, "price": match.like("45000")}), {"ex12.verified", "ex12.price_type", "ex12.missing_field"}),
        "no Location expected": ("describe_order", _describe_order(201, None), {"ex12.location"}),
        "an exact Location": ("describe_order", _describe_order(201, "http://127.0.0.1:8001/api/orders/98766"),
                              {"ex12.verified"}),
    }


@pytest.mark.parametrize("name", ["no in_stock in the contract", "price as anything", "no Location expected",
                                  "an exact Location"])
def test_ex12_a_plausible_mistake_loses_its_checks(shop_url, name):
    function, replacement, expected = _ex12_mutants()[name]
    ns = namespace_of(solution_path("ex12"))
    ns[function] = replacement
    feedback = check("ex12", namespace=ns)
    assert expected <= lost(feedback), (name, lost(feedback), str(feedback))
    assert 0 <= feedback.score < POINTS["ex12"], str(feedback)


def test_ex12_lab_grade_runs_pact_in_the_sandbox_full_marks_and_zero(tmp_path):
    subs = tmp_path / "subs"
    for student, path in (("alice", solution_path("ex12")), ("bob", starter_path("ex12"))):
        (subs / student).mkdir(parents=True)
        shutil.copy(path, subs / student / path.name)
    batch.grade(subs, tmp_path / "out", limits=Limits(timeout=120, step_timeout=30), workers=2)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (rows["alice"]["ex12"], rows["alice"]["status"]) == (str(POINTS["ex12"]), "ok"), rows["alice"]["notes"]
    assert rows["bob"]["ex12"] == "0", rows["bob"]["notes"]
