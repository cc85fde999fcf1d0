"""Links for the student's browser: local ports, compose's published ports, Binder's proxy paths."""
from __future__ import annotations

import pytest

from labkit import browser, docs_url
from labkit.components import components


@pytest.fixture
def clean(monkeypatch):
    for name in (browser.BROWSER_HOST_ENV, browser.PROXY_ENV, browser.HUB_PREFIX_ENV, "LAB_SHOP_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_locally_a_link_is_the_kernels_own_address(clean):
    assert docs_url("shop") == "http://127.0.0.1:8001/docs"


def test_under_compose_a_link_uses_the_port_published_on_the_machine(clean):
    clean.setenv("LAB_SHOP_URL", "http://shop:8001")
    clean.setenv(browser.BROWSER_HOST_ENV, "127.0.0.1")
    assert docs_url("shop") == "http://127.0.0.1:8001/docs"


def test_under_binder_a_link_goes_through_jupyter_server_proxy(clean):
    clean.setenv(browser.HUB_PREFIX_ENV, "/user/student-abc/")
    clean.setenv(browser.PROXY_ENV, "1")
    assert docs_url("shop") == "/user/student-abc/shop/docs"
    assert docs_url("catalog-2") == "/user/student-abc/catalog-2/docs"
    assert browser.console_url() == "/user/student-abc/console/"


def test_a_hub_without_the_labs_proxy_entries_keeps_the_kernels_address(clean):
    clean.setenv(browser.HUB_PREFIX_ENV, "/user/student-abc/")
    assert docs_url("shop") == "http://127.0.0.1:8001/docs"


def test_a_link_shows_as_an_anchor_and_prints_plainly(clean):
    link = docs_url("shop")
    assert repr(link) == str(link) == "http://127.0.0.1:8001/docs"
    assert link._repr_html_() == ('<a href="http://127.0.0.1:8001/docs" target="_blank" rel="noopener">'
                                  'http://127.0.0.1:8001/docs</a>')


def test_proxy_entries_come_from_the_declarations(clean):
    servers = browser.server_proxy_servers()
    services = [c for c in components() if c.kind == "service"]
    assert set(servers) == {c.name for c in services} | {"rabbitmq"}
    shop = servers["shop"]
    assert shop["port"] == 8001 and shop["absolute_url"] is False and "command" not in shop
    assert [n for n, s in servers.items() if s["launcher_entry"]["enabled"]] == ["console"]


def test_a_service_moved_elsewhere_gets_no_proxy_entry(clean):
    clean.setenv("LAB_SHOP_URL", "http://shop:8001")
    assert "shop" not in browser.server_proxy_servers()


def test_a_name_jupyter_uses_itself_is_served_under_another_path():
    assert browser.proxy_path("api") == "lab-api" and browser.proxy_path("shop") == "shop"
