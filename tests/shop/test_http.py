"""HTTP mechanics every resource shares: HEAD, OPTIONS, 405, ETag with If-None-Match and If-Match, 415."""
from __future__ import annotations

import pytest

from tests.shop.shopapi import MANAGER, READER, error_code, fields


def test_head_mirrors_get_without_a_body(api):
    get = api.get("/api/products/1")
    head = api.request("HEAD", "/api/products/1")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


def test_head_needs_credentials_where_get_does(api):
    assert api.request("HEAD", "/api/users/12345").status_code == 401
    assert api.request("HEAD", "/api/users/12345", headers=READER).status_code == 200


def test_head_of_a_list_has_its_link_header(api):
    head = api.request("HEAD", "/api/products")
    assert head.status_code == 200 and 'rel="next"' in head.headers["Link"]


@pytest.mark.parametrize("path, allow", [
    ("/api/products", "GET, HEAD, OPTIONS, POST"),
    ("/api/products/1", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
    ("/api/orders/98765", "DELETE, GET, HEAD, OPTIONS, PATCH"),
    ("/api/customers/123/orders", "GET, HEAD, OPTIONS, POST"),
    ("/api/users/me", "GET, HEAD, OPTIONS"),
])
def test_options_lists_the_allowed_methods(api, path, allow):
    resp = api.request("OPTIONS", path)
    assert resp.status_code == 204
    assert resp.headers["Allow"] == allow


@pytest.mark.parametrize("method, path", [("POST", "/api/products/1"), ("DELETE", "/api/customers/123"),
                                          ("PUT", "/api/orders"), ("PATCH", "/api/weather")])
def test_wrong_method_is_405_with_allow(api, method, path):
    resp = api.request(method, path, headers=MANAGER)
    assert resp.status_code == 405
    assert error_code(resp) == "METHOD_NOT_ALLOWED"
    assert "GET" in resp.headers["Allow"]


def test_if_none_match_with_the_current_etag_is_304(api):
    etag = api.get("/api/users/12345", headers=READER).headers["ETag"]
    resp = api.get("/api/users/12345", headers={**READER, "If-None-Match": etag})
    assert resp.status_code == 304
    assert resp.content == b"" and resp.headers["ETag"] == etag


def test_if_none_match_with_an_old_etag_is_200(api):
    resp = api.get("/api/products/1", headers={"If-None-Match": '"stale"'})
    assert resp.status_code == 200 and resp.json()["id"] == 1


def test_etag_changes_when_the_resource_changes(api, new_product):
    product = new_product()
    before = api.get(f"/api/products/{product['id']}").headers["ETag"]
    api.patch(f"/api/products/{product['id']}", json={"price": 1}, headers=MANAGER)
    assert api.get(f"/api/products/{product['id']}", headers={"If-None-Match": before}).status_code == 200


def test_if_match_with_the_current_etag_updates(api, new_product):
    product = new_product()
    etag = api.get(f"/api/products/{product['id']}").headers["ETag"]
    resp = api.patch(f"/api/products/{product['id']}", json={"price": 777}, headers={**MANAGER, "If-Match": etag})
    assert resp.status_code == 200
    assert resp.json()["price"] == 777 and resp.headers["ETag"] != etag


def test_if_match_with_a_stale_etag_is_412_and_changes_nothing(api, new_product):
    product = new_product()
    stale = api.get(f"/api/products/{product['id']}").headers["ETag"]
    api.patch(f"/api/products/{product['id']}", json={"price": 500}, headers=MANAGER)  # someone else's write
    resp = api.put(f"/api/products/{product['id']}", json={"title": "Моя версія", "category": "books", "price": 1,
                                                           "in_stock": True}, headers={**MANAGER, "If-Match": stale})
    assert resp.status_code == 412
    assert error_code(resp) == "PRECONDITION_FAILED"
    assert api.get(f"/api/products/{product['id']}").json() == {**product, "price": 500}


def test_if_match_on_users_too(api, new_user):
    user = new_user()
    resp = api.patch(f"/api/users/{user['id']}", json={"city": "Херсон"}, headers={**MANAGER, "If-Match": '"old"'})
    assert resp.status_code == 412
    etag = api.get(f"/api/users/{user['id']}", headers=READER).headers["ETag"]
    ok = api.patch(f"/api/users/{user['id']}", json={"city": "Херсон"}, headers={**MANAGER, "If-Match": etag})
    assert ok.status_code == 200 and ok.json()["profile"]["city"] == "Херсон"


def test_if_match_star_means_any_existing_version(api, new_product):
    product = new_product()
    resp = api.patch(f"/api/products/{product['id']}", json={"price": 42}, headers={**MANAGER, "If-Match": "*"})
    assert resp.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_bodies_are_415_and_change_nothing(api, new_product, content_type):
    product = new_product()
    resp = api.patch(f"/api/products/{product['id']}", data="price=1",
                     headers={**MANAGER, "Content-Type": content_type})
    assert resp.status_code == 415
    assert error_code(resp) == "UNSUPPORTED_MEDIA_TYPE"
    assert fields(resp) == ["Content-Type"]
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_merge_patch_json_is_accepted(api, new_product):
    product = new_product()
    resp = api.patch(f"/api/products/{product['id']}", data='{"price": 321}',
                     headers={**MANAGER, "Content-Type": "application/merge-patch+json"})
    assert resp.status_code == 200 and resp.json()["price"] == 321
