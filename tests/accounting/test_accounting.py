"""Payments become books: invoices and payments from signed webhooks, LiqPay callbacks, reconciliation, CSV."""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import secrets

from labkit.procs import wait_until
from tests.lab_http import Lab

PRIVATE_KEY = "sandbox_lab_private_key_2024"


def _order() -> str:
    return f"order-{secrets.token_hex(4)}"


def _pay(lab: Lab, order: str, amount: int, confirm: bool = True) -> dict:
    resp = lab.post("payments", "/api/payment_intents", json={
        "amount": amount, "currency": "uah", "confirm": confirm, "payment_method": "pm_card_visa",
        "description": "Олена Коваленко", "metadata": {"order_id": order}})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _liqpay(params: dict, key: str = PRIVATE_KEY) -> dict:
    data = base64.b64encode(json.dumps(params).encode()).decode()
    return {"data": data, "signature": base64.b64encode(hashlib.sha1((key + data + key).encode()).digest()).decode()}


def _line(lab: Lab, order: str) -> dict:
    report = lab.get("accounting", "/api/reconciliation").json()
    return next(r for r in report["matched"] + report["mismatches"] if r["order_id"] == order)


def test_a_paid_intent_is_invoiced_and_paid_and_reconciles(lab: Lab):
    order = _order()
    intent = _pay(lab, order, 45549)
    assert wait_until(lambda: [i["status"] for i in lab.get("accounting", "/api/invoices", params={
        "order_id": order}).json()] == ["paid"], timeout=10)
    [invoice] = lab.get("accounting", "/api/invoices", params={"order_id": order}).json()
    assert (invoice["amount"], invoice["currency"], invoice["external_id"]) == (455.49, "UAH", intent["id"])
    assert invoice["customer"] == "Олена Коваленко" and invoice["number"].startswith("INV-")
    [payment] = lab.get("accounting", "/api/payments", params={"order_id": order}).json()
    assert (payment["source"], payment["kind"], payment["amount"]) == ("payments", "payment", 455.49)
    assert _line(lab, order)["kind"] == "matched"


def test_an_unpaid_intent_and_a_refund_are_mismatches(lab: Lab):
    unpaid = _order()
    _pay(lab, unpaid, 1000, confirm=False)
    assert wait_until(lambda: lab.get("accounting", "/api/invoices", params={"order_id": unpaid}).json(), timeout=10)
    assert _line(lab, unpaid)["kind"] == "unpaid"
    refunded = _order()
    intent = _pay(lab, refunded, 2000)
    assert lab.post("payments", "/api/refunds", json={"payment_intent": intent["id"]}).status_code == 201
    assert wait_until(lambda: len(lab.get("accounting", "/api/payments", params={"order_id": refunded}).json()) == 2,
                      timeout=10)
    assert _line(lab, refunded)["kind"] == "refunded"


def test_a_forged_payments_webhook_is_401_and_changes_nothing(lab: Lab):
    before = lab.get("accounting", "/api/payments").json()
    body = json.dumps({"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_forged", "amount": 100}}})
    resp = lab.post("accounting", "/webhooks/payments", data=body, headers={
        "webhook-id": "msg_x", "webhook-timestamp": "1700000000", "webhook-signature": "v1,AAAA"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert lab.get("accounting", "/api/payments").json() == before


def test_a_liqpay_callback_counts_once_and_only_with_its_signature(lab: Lab):
    order = _order()
    lab.post("accounting", "/api/invoices", json={"order_id": order, "amount": 1200, "customer": "ТОВ «Меблі»"})
    params = {"order_id": order, "amount": 1200, "currency": "UAH", "status": "success", "payment_id": 987654}
    forged = lab.post("accounting", "/liqpay/callback", data=_liqpay(params, key="guessed"))
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "INVALID_SIGNATURE"
    first = lab.post("accounting", "/liqpay/callback", data=_liqpay(params)).json()
    again = lab.post("accounting", "/liqpay/callback", data=_liqpay(params)).json()
    assert (first["recorded"], again["recorded"]) == (True, False) and first["payment"]["source"] == "liqpay"
    assert _line(lab, order)["kind"] == "matched"
    failed = lab.post("accounting", "/liqpay/callback", data=_liqpay({**params, "status": "failure", "payment_id": 1}))
    assert failed.json()["recorded"] is False


def test_mismatches_are_named_underpaid_overpaid_and_without_invoice(lab: Lab):
    under, over, stray = _order(), _order(), _order()
    for order in (under, over):
        lab.post("accounting", "/api/invoices", json={"order_id": order, "amount": 1000})
    lab.post("accounting", "/liqpay/callback", data=_liqpay({"order_id": under, "amount": 900, "status": "success",
                                                             "payment_id": secrets.randbelow(10**9)}))
    for _ in range(2):
        lab.post("accounting", "/liqpay/callback", data=_liqpay({"order_id": over, "amount": 1000, "status": "success",
                                                                 "payment_id": secrets.randbelow(10**9)}))
    lab.post("accounting", "/liqpay/callback", data=_liqpay({"order_id": stray, "amount": 50, "status": "sandbox"}))
    kinds = {order: _line(lab, order)["kind"] for order in (under, over, stray)}
    assert kinds == {under: "underpaid", over: "overpaid", stray: "payment_without_invoice"}
    assert [i["status"] for i in lab.get("accounting", "/api/invoices", params={"order_id": over}).json()] == ["overpaid"]


def test_the_daily_report_is_csv_with_a_row_per_order(lab: Lab):
    order = _order()
    lab.post("accounting", "/api/invoices", json={"order_id": order, "amount": 10})
    resp = lab.get("accounting", "/api/reports/daily.csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    row = next(r for r in rows if r["order_id"] == order)
    assert (row["status"], row["invoiced_uah"], row["paid_uah"]) == ("unpaid", "10.0", "0.0")
    assert lab.get("accounting", "/api/reports/daily.csv", params={"date": "yesterday"}).status_code == 400


def test_the_checkout_form_is_signed_as_liqpay_expects(lab: Lab):
    form = lab.post("accounting", "/api/liqpay/checkout", json={"order_id": "order-1", "amount": 455.49}).json()
    assert json.loads(base64.b64decode(form["data"]))["order_id"] == "order-1"
    assert form["signature"] == base64.b64encode(
        hashlib.sha1((PRIVATE_KEY + form["data"] + PRIVATE_KEY).encode()).digest()).decode()


def test_signed_garbage_is_400_validation_error_not_500(lab: Lab):
    for data in ("bm90IGpzb24=", base64.b64encode(b"[1, 2]").decode(), base64.b64encode(b'{"amount": 1}').decode()):
        signature = base64.b64encode(hashlib.sha1((PRIVATE_KEY + data + PRIVATE_KEY).encode()).digest()).decode()
        resp = lab.post("accounting", "/liqpay/callback", data={"data": data, "signature": signature})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "VALIDATION_ERROR", resp.text
    assert lab.post("accounting", "/liqpay/callback", data={"data": "x"}).status_code == 400


def test_a_reset_forgets_the_books_but_keeps_the_webhook_endpoint(lab: Lab):
    """A reset once dropped the endpoint with the data (billing answered 500 to its own reset since)."""
    before = [e["id"] for e in lab.get("payments", "/api/webhook_endpoints").json()["data"]
              if "accounting" in e["description"]]
    assert lab.post("accounting", "/admin/reset").status_code in (200, 204)
    assert lab.get("accounting", "/api/invoices").json() == []
    order = _order()
    _pay(lab, order, 1000)  # delivered at once to the same endpoint: verified, booked
    assert wait_until(lambda: [i["status"] for i in lab.get("accounting", "/api/invoices", params={
        "order_id": order}).json()] == ["paid"], timeout=10)
    after = [e["id"] for e in lab.get("payments", "/api/webhook_endpoints").json()["data"]
             if "accounting" in e["description"]]
    assert after == before  # no second registration was needed
