"""Weather: the lecture's API-key example."""
from __future__ import annotations

from tests.shop.shopapi import error_code, fields


def test_lecture_request_returns_kyiv_weather(api):
    resp = api.get("/api/weather", params={"city": "Kyiv", "apikey": "abc123def456"})
    assert resp.status_code == 200
    weather = resp.json()
    assert weather["city"] == "Kyiv" and weather["city_uk"] == "Київ"
    assert weather == api.get("/api/weather", params={"city": "Київ", "apikey": "abc123def456"}).json()


def test_weather_without_a_key_is_401(api):
    resp = api.get("/api/weather", params={"city": "Kyiv"})
    assert resp.status_code == 401
    assert "WWW-Authenticate" in resp.headers


def test_unknown_city_is_404(api):
    resp = api.get("/api/weather", params={"city": "Atlantis", "apikey": "abc123def456"})
    assert resp.status_code == 404
    assert error_code(resp) == "CITY_NOT_FOUND"
    assert fields(resp) == ["city"]


def test_missing_city_is_400(api):
    resp = api.get("/api/weather", params={"apikey": "abc123def456"})
    assert resp.status_code == 400
    assert fields(resp) == ["city"]
