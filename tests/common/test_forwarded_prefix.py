"""Behind jupyter-server-proxy (Binder), a service's /docs loads its OpenAPI document through the proxy's prefix."""
from __future__ import annotations

import requests

PREFIX = "/user/student-1a2b/toy"


def test_docs_behind_a_proxy_load_openapi_json_under_its_prefix(toy_url):
    page = requests.get(f"{toy_url}/docs", headers={"X-Forwarded-Prefix": PREFIX})
    assert page.status_code == 200
    assert f"'{PREFIX}/openapi.json'" in page.text


def test_the_document_behind_a_proxy_names_the_prefix_as_its_server(toy_url):
    doc = requests.get(f"{toy_url}/openapi.json", headers={"X-Forwarded-Prefix": PREFIX + "/"}).json()
    assert doc["servers"][0]["url"] == PREFIX


def test_without_a_proxy_docs_load_openapi_json_from_the_root(toy_url):
    page = requests.get(f"{toy_url}/docs")
    assert "'/openapi.json'" in page.text
    assert "servers" not in requests.get(f"{toy_url}/openapi.json").json()


def test_routes_answer_the_same_behind_a_proxy(toy_url):
    plain = requests.get(f"{toy_url}/api/notes")
    proxied = requests.get(f"{toy_url}/api/notes", headers={"X-Forwarded-Prefix": PREFIX})
    assert proxied.status_code == plain.status_code == 200


def test_a_prefix_that_is_not_a_plain_path_is_ignored(toy_url):
    for bad in ("/x'</script><script>alert(1)//", "https://evil.example/x", "//evil", "x/y"):
        page = requests.get(f"{toy_url}/docs", headers={"X-Forwarded-Prefix": bad})
        assert page.status_code == 200 and "'/openapi.json'" in page.text, bad
