"""The carrier speaks Nova Poshta's JSON API: one URL, the verdict in the body."""
from __future__ import annotations

from tests.events.conftest import Flow

KEY = "np-lab-key-0000"
WAYBILL = {"CityRecipient": "Львів", "RecipientAddress": "Відділення №1", "RecipientName": "Олена",
           "RecipientsPhone": "380501234567", "Weight": "2", "Cost": "1200"}


def call(flow: Flow, model: str, method: str, props: dict, key: str = KEY) -> dict:
    resp = flow.post("carrier", "/v2.0/json/", json={"apiKey": key, "modelName": model, "calledMethod": method,
                                                     "methodProperties": props})
    assert resp.status_code == 200  # always, as Nova Poshta answers: success is in the body
    return resp.json()


def test_a_waybill_is_saved_and_tracked(flow: Flow):
    saved = call(flow, "InternetDocument", "save", WAYBILL)
    assert saved["success"] and saved["errors"] == []
    doc = saved["data"][0]
    assert doc["IntDocNumber"].startswith("2045") and len(doc["IntDocNumber"]) == 14 and doc["CostOnSite"] == 90
    tracked = call(flow, "TrackingDocument", "getStatusDocuments", {"Documents": [{"DocumentNumber": doc["IntDocNumber"]}]})
    assert tracked["data"][0]["StatusCode"] == "1" and tracked["data"][0]["CityRecipient"] == "Львів"


def test_the_same_client_barcode_gets_the_same_waybill(flow: Flow):
    first = call(flow, "InternetDocument", "save", {**WAYBILL, "InfoRegClientBarcodes": "order-7"})["data"][0]
    again = call(flow, "InternetDocument", "save", {**WAYBILL, "InfoRegClientBarcodes": "order-7"})
    assert again["data"][0] == first and again["warnings"]


def test_failures_are_success_false_with_errors_and_codes(flow: Flow):
    wrong_key = call(flow, "InternetDocument", "save", WAYBILL, key="nope")
    assert (wrong_key["success"], wrong_key["errors"]) == (False, ["API key is invalid"])
    missing = call(flow, "InternetDocument", "save", {"Weight": "1"})
    assert not missing["success"] and "CityRecipient is empty" in missing["errors"] and missing["errorCodes"]
    assert not call(flow, "Magic", "doIt", {})["success"]


def test_cities_and_warehouses(flow: Flow):
    assert [c["Description"] for c in call(flow, "Address", "getCities", {"FindByString": "льв"})["data"]] == ["Львів"]
    assert len(call(flow, "Address", "getWarehouses", {"CityName": "Київ"})["data"]) == 3
