"""Stock, reservations (all or none, once per order), waybills at the carrier, and the shop kept in step."""
from __future__ import annotations

import secrets

from labkit.procs import wait_until
from tests.lab_http import Lab


def _order() -> str:
    return f"order-{secrets.token_hex(4)}"


def _shop_product(lab: Lab, sku: str) -> dict:
    for page in (1, 2):
        for product in lab.get("shop", "/api/products", params={"page": page, "per_page": 100}).json()["data"]:
            if product["sku"] == sku:
                return product
    raise AssertionError(f"the shop has no {sku}")


def test_a_reservation_holds_stock_and_the_same_order_again_holds_nothing_more(lab: Lab):
    before = lab.get("warehouse", "/api/stock/XYZ").json()
    order = _order()
    body = {"order_id": order, "items": [{"sku": "XYZ", "quantity": 2}]}
    first, again = lab.post("warehouse", "/api/reservations", json=body), lab.post("warehouse", "/api/reservations", json=body)
    assert (first.status_code, again.status_code) == (201, 200) and first.headers["location"].endswith(order)
    after = lab.get("warehouse", "/api/stock/XYZ").json()
    assert after["reserved"] == before["reserved"] + 2 and after["available"] == before["available"] - 2
    other = lab.post("warehouse", "/api/reservations", json={**body, "items": [{"sku": "XYZ", "quantity": 1}]})
    assert other.status_code == 409 and other.json()["error"]["code"] == "RESERVATION_CONFLICT"


def test_all_lines_or_none_with_a_detail_per_missing_sku(lab: Lab):
    before = lab.get("warehouse", "/api/stock/ABC").json()
    resp = lab.post("warehouse", "/api/reservations", json={"order_id": _order(), "items": [
        {"sku": "ABC", "quantity": 1}, {"sku": "EL-005", "quantity": 999}]})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "INSUFFICIENT_STOCK"
    assert resp.json()["error"]["details"][0]["field"] == "items.EL-005"
    assert lab.get("warehouse", "/api/stock/ABC").json() == before


def test_release_gives_stock_back(lab: Lab):
    order = _order()
    lab.post("warehouse", "/api/reservations", json={"order_id": order, "items": [{"sku": "BK-001", "quantity": 3}]})
    held = lab.get("warehouse", "/api/stock/BK-001").json()["reserved"]
    released = lab.delete("warehouse", f"/api/reservations/{order}")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert lab.get("warehouse", "/api/stock/BK-001").json()["reserved"] == held - 3


def test_shipping_makes_one_waybill_at_the_carrier_and_takes_the_stock(lab: Lab):
    order = _order()
    on_hand = lab.get("warehouse", "/api/stock/EL-008").json()["on_hand"]
    lab.post("warehouse", "/api/reservations", json={"order_id": order, "items": [{"sku": "EL-008", "quantity": 2}]})
    body = {"recipient": {"name": "Олена Коваленко", "city": "Львів", "phone": "380501234567"}}
    shipped = lab.post("warehouse", f"/api/reservations/{order}/ship", json=body)
    assert shipped.status_code == 200, shipped.text
    waybill = shipped.json()["waybill"]
    assert shipped.json()["status"] == "shipped" and waybill.startswith("2045") and len(waybill) == 14
    assert lab.post("warehouse", f"/api/reservations/{order}/ship", json=body).json()["waybill"] == waybill
    assert lab.get("warehouse", "/api/stock/EL-008").json()["on_hand"] == on_hand - 2
    tracked = lab.get("warehouse", f"/api/waybills/{waybill}").json()
    assert tracked["city"] == "Львів" and tracked["status_code"]
    assert lab.delete("warehouse", f"/api/reservations/{order}").status_code == 409


def test_running_out_and_coming_back_is_pushed_to_the_shops_catalogue(lab: Lab):
    assert _shop_product(lab, "EL-005")["in_stock"] is True
    assert lab.put("warehouse", "/api/stock/EL-005", json={"on_hand": 0}).status_code == 200
    assert wait_until(lambda: _shop_product(lab, "EL-005")["in_stock"] is False, timeout=10)
    lab.put("warehouse", "/api/stock/EL-005", json={"on_hand": 3})
    assert wait_until(lambda: _shop_product(lab, "EL-005")["in_stock"] is True, timeout=10)
    row = next(r for r in lab.get("warehouse", "/api/sync/shop").json() if r["sku"] == "EL-005")
    assert row["status"] == "synced" and row["shop_product_id"] == _shop_product(lab, "EL-005")["id"]


def test_a_shop_that_is_down_is_retried_and_a_sku_it_does_not_sell_is_said_so(lab: Lab):
    lab.put("shop", "/admin/chaos", json={"down": True})
    try:
        lab.put("warehouse", "/api/stock/EL-002", json={"on_hand": 0})
        assert wait_until(lambda: next((r for r in lab.get("warehouse", "/api/sync/shop").json()
                                        if r["sku"] == "EL-002"), {}).get("attempts", 0) >= 2, timeout=10)
    finally:
        lab.delete("shop", "/admin/chaos")
    assert wait_until(lambda: next(r for r in lab.get("warehouse", "/api/sync/shop").json()
                                   if r["sku"] == "EL-002")["status"] == "synced", timeout=10)
    assert _shop_product(lab, "EL-002")["in_stock"] is False
    lab.put("warehouse", "/api/stock/HM-001", json={"on_hand": 0})
    assert wait_until(lambda: next((r for r in lab.get("warehouse", "/api/sync/shop").json()
                                    if r["sku"] == "HM-001"), {}).get("status") == "not_in_shop", timeout=10)


def test_bad_input_is_400_404_or_409_in_the_envelope(lab: Lab):
    assert lab.get("warehouse", "/api/stock/NOPE-1").status_code == 404
    assert lab.post("warehouse", "/api/reservations", json={"order_id": "x", "items": []}).status_code == 400
    assert lab.post("warehouse", "/api/reservations/none-such/ship", json={"recipient": {"name": "A"}}).status_code == 404
    below = lab.put("warehouse", "/api/stock/ABC", json={"on_hand": -1})
    assert below.status_code == 400 and below.json()["error"]["code"] == "VALIDATION_ERROR"
