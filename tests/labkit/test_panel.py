"""labkit.panel: the chaos panel's buttons reach the services, its tiles show them, restore() puts all back."""
from __future__ import annotations

import requests

from labkit.config import url
from labkit.panel import chaos_panel, health, restore, tiles
from tests.labkit.conftest import MICRO


def _chaos(name: str) -> dict:
    return requests.get(url(name) + "/admin/chaos", timeout=5).json()


def test_health_shows_each_service_its_registry_entry_and_its_chaos(micro_lab):
    requests.put(url("catalog-2") + "/admin/chaos", json={"latency_ms": 100}, timeout=5)
    try:
        rows = {r["service"]: r for r in health(MICRO)}
    finally:
        requests.delete(url("catalog-2") + "/admin/chaos", timeout=5)
    assert rows["catalog-2"]["health"] == "up" and rows["catalog-2"]["chaos"] == "latency_ms=100"
    assert rows["catalog-2"]["registry"] == "up" and rows["orders"]["registry"] == "—"
    assert rows["gateway"]["chaos"] == "" and isinstance(rows["gateway"]["ms"], int)


def test_the_panels_buttons_slow_a_service_stop_it_and_start_it(micro_lab):
    panel = chaos_panel(MICRO, seconds=5)
    try:
        panel.service.value = "catalog-2"
        panel.latency.value, panel.error_rate.value = 300, 0.5
        panel.apply.click()
        assert _chaos("catalog-2") == {"latency_ms": 300, "jitter_ms": 0, "error_rate": 0.5, "error_status": 503,
                                       "down": False}
        assert "latency_ms=300, error_rate=0.5 (503)" in panel.status.value
        panel.calm.click()
        assert _chaos("catalog-2")["latency_ms"] == 0 and panel.latency.value == 0
        panel.stop_button.click()
        assert "catalog-2: stopped" in panel.message.value and "catalog-2</b> stopped" in panel.status.value
        panel.start_button.click()
        assert requests.get(url("catalog-2") + "/health", timeout=5).status_code == 200
        panel.down.value = True
        panel.apply.click()
        panel.everything.click()
        assert "catalog-2: chaos off" in panel.message.value and panel.down.value is False
        assert _chaos("catalog-2")["down"] is False
    finally:
        panel.close()
        restore(MICRO)


def test_a_refused_action_is_shown_not_raised(micro_lab):
    panel = chaos_panel(MICRO, seconds=1)
    panel.close()
    panel.service.options = [*MICRO, "nonexistent"]
    panel.service.value = "nonexistent"
    panel.apply.click()
    assert "cf222e" in panel.message.value  # the error, in red, in the panel


def test_restore_undoes_chaos_stopped_services_and_open_breakers(micro_lab):
    requests.put(url("catalog") + "/admin/chaos", json={"down": True}, timeout=5)
    micro_lab.stop("catalog-2")
    requests.put(url("orders") + "/admin/breakers/catalog", json={"enabled": False}, timeout=5)
    changed = restore(MICRO)
    assert changed == ["catalog: chaos off", "catalog-2: started", "orders: breaker catalog closed"]
    assert _chaos("catalog")["down"] is False
    assert requests.get(url("catalog-2") + "/health", timeout=5).status_code == 200
    assert requests.get(url("orders") + "/admin/breakers", timeout=5).json()[0]["enabled"] is True
    assert restore(MICRO) == []  # nothing left to put back


def test_tiles_colour_a_stopped_service_grey_and_a_failing_one_red():
    drawn = tiles([{"service": "catalog", "health": "stopped", "ms": "", "registry": "—", "chaos": ""},
                   {"service": "users", "health": "down", "ms": 3, "registry": "down", "chaos": "down"}])
    assert "#eaeef2" in drawn and "#ffebe9" in drawn and "реєстр: down" in drawn and "3 мс" in drawn
