"""HEAD and OPTIONS for every service, from one middleware (the shop's own cases: tests/shop/test_http.py)."""
from __future__ import annotations

import requests


def test_head_is_the_get_without_its_body(toy_url):
    get = requests.get(f"{toy_url}/api/notes")
    head = requests.head(f"{toy_url}/api/notes")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["X-Request-ID"]


def test_options_lists_the_methods_of_the_resource(toy_url):
    resp = requests.options(f"{toy_url}/api/notes")
    assert resp.status_code == 204 and resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_options_of_an_unknown_path_is_404(toy_url):
    assert requests.options(f"{toy_url}/api/nothing-here").status_code == 404


def test_a_method_the_resource_does_not_take_is_405_with_allow(toy_url):
    resp = requests.request("PUT", f"{toy_url}/api/notes", json={})
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_a_route_that_takes_head_and_options_itself_gets_them(tmp_path):
    from tests.conftest import running_service

    with running_service("inspector", tmp_path) as inspector:
        bin_ = requests.post(f"{inspector}/api/bins", json={}).json()
        requests.head(bin_["url"])
        requests.options(bin_["url"])
        methods = [r["method"] for r in requests.get(f"{inspector}/api/bins/{bin_['id']}/requests").json()["data"]]
    assert sorted(methods) == ["HEAD", "OPTIONS"]  # captured, not answered by the middleware
