"""The lab console in a real browser (headless Chromium over the DevTools protocol) against the whole lab.

The page loads and lists every component; a service stopped from it is stopped for a client and
shows as stopped; chaos switched on from it is what a client gets; its panels read the lab's
queues, deliveries, events and traces; its polling leaves no trace behind.
"""
from __future__ import annotations

import sqlite3
import time

import pytest
import requests

from labkit import components, config
from tests.chromium import CHROMIUM, Chromium
from tests.conftest import wait_for

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: apt-get install chromium")

ROW = "document.querySelector('#components tr[data-name=\"{name}\"]')"


@pytest.fixture(scope="module")
def page(lab_stack, tmp_path_factory: pytest.TempPathFactory):
    """The console's page, open in Chromium."""
    with Chromium(tmp_path_factory.mktemp("console-browser")) as browser:
        browser.goto(config.url("console") + "/")
        yield browser


def health_in_page(page: Chromium, name: str) -> str | None:
    return page.eval(f"{ROW.format(name=name)}?.querySelector('[data-health]')?.dataset.health ?? null")


def click(page: Chromium, name: str, action: str) -> None:
    page.wait(f"{ROW.format(name=name)}?.querySelector('button[data-action=\"{action}\"]')", 20,
              what=f"a {action} button for {name}")
    page.eval(f"{ROW.format(name=name)}.querySelector('button[data-action=\"{action}\"]').click()")


def test_the_page_lists_every_component_with_its_health(page):
    names = [c.name for c in components.components()]
    page.wait(f"document.querySelectorAll('#components tbody tr[data-kind]').length === {len(names)}", 30,
              what="a row per component")
    assert page.eval("[...document.querySelectorAll('#components tbody tr[data-kind]')].map(r => r.dataset.name)") == names
    for name in ("rabbitmq", "kafka", "host", "shop", "console"):
        assert page.wait(f"{ROW.format(name=name)}.querySelector('[data-health]')?.dataset.health") == "healthy", name
    assert "MB" in page.eval(f"{ROW.format(name='host')}.innerText")  # the host process's memory
    assert page.eval("document.querySelector('#error').hidden")


def test_a_service_stopped_from_the_page_shows_as_stopped_and_refuses_clients(page):
    address = config.url("inspector")
    click(page, "inspector", "stop")
    assert page.wait(f"{ROW.format(name='inspector')}?.querySelector('[data-health=stopped]')", 30,
                     what="inspector shown as stopped")
    with pytest.raises(requests.ConnectionError):
        requests.get(address + "/health", timeout=2)
    click(page, "inspector", "start")
    page.wait(f"{ROW.format(name='inspector')}?.querySelector('[data-health=healthy]')", 60, what="inspector healthy again")
    assert requests.get(address + "/health", timeout=2).status_code == 200


def test_chaos_switched_on_from_the_page_is_seen_by_a_client(page):
    shop = config.url("shop")
    click(page, "shop", "chaos")
    form = "document.querySelector('tr.chaos-row[data-name=\"shop\"] form')"
    page.wait(form, 10, what="the shop's chaos form")
    page.eval(f"(() => {{ const f = {form}; f.error_rate.value = 100; f.error_status.value = '503';"
              f" f.querySelector('[data-action=chaos-apply]').click(); }})()")
    try:
        body = wait_for(lambda: (r := requests.get(shop + "/api/products", timeout=5)).status_code == 503 and r.json(),
                        timeout=10, what="the shop answering 503")
        assert body["error"]["code"]
        assert "100% → 503" in page.wait(f"{ROW.format(name='shop')}.querySelector('td.chaos .chaos-on')?.innerText", 10)
    finally:
        click(page, "shop", "chaos")
        page.wait(form, 10)
        page.eval(f"{form}.querySelector('[data-action=chaos-off]').click()")
    wait_for(lambda: requests.get(shop + "/api/products", timeout=5).status_code == 200, timeout=10,
             what="the shop answering 200 again")
    assert page.wait(f"{ROW.format(name='shop')}.querySelector('td.chaos')?.innerText === 'вимкнено'", 10)


def test_the_panels_show_queues_and_traces(page):
    requests.get(config.url("shop") + "/api/products?limit=1", timeout=5)
    for panel in ("queues", "deliveries", "events", "traces"):
        page.wait(f"!document.querySelector('#{panel}').closest('section').classList.contains('unavailable')", 20,
                  what=f"the {panel} panel to load")
    assert page.wait("document.querySelectorAll('#queues tbody tr[data-name]').length", 20, what="a queue of the bus")
    root = page.wait("[...document.querySelectorAll('#traces tbody tr')].map(r => r.innerText)"
                     ".find(t => t.includes('shop: GET /api/products'))", 20, what="the shop's request among the traces")
    assert "shop" in root
    page.eval("document.querySelector('#traces tbody tr[data-trace]').click()")
    assert page.wait("document.querySelectorAll('#waterfall .span-row').length", 10, what="the trace's waterfall")


def test_the_consoles_polling_records_no_trace(page):
    time.sleep(6)  # more than one round of every panel's polling
    from labservices.common.paths import traces_file

    db = sqlite3.connect(traces_file())
    since = (time.time() - 6) * 1e9
    polled = db.execute("SELECT service, name FROM spans WHERE start_ns > ? AND (name LIKE '%/admin/chaos%' OR "
                        "name LIKE '%/api/deliveries%' OR name LIKE '%/api/events%' OR service = 'console')",
                        (since,)).fetchall()
    assert polled == []


def test_the_console_refuses_to_stop_itself(lab_stack):
    resp = requests.post(config.url("console") + "/api/components/console/stop", timeout=10)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "NOT_CONTROLLABLE"
    resp = requests.post(config.url("console") + "/api/components/nothing-here/stop", timeout=10)
    assert resp.status_code == 404
