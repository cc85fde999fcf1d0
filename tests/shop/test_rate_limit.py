"""Rate limiting: X-RateLimit-* on every authenticated answer, 429 with Retry-After, the demo key."""
from __future__ import annotations

from tests.shop.shopapi import MANAGER, READER, error_code

DEMO = {"X-API-Key": "ratelimit-demo-key"}


def test_demo_key_is_throttled_after_5_requests(api):
    statuses = [api.get("/api/weather", params={"city": "Lviv"}, headers=DEMO) for _ in range(7)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, "7 requests in a row must exceed 5 per 10 s"
    assert all(r.status_code == 200 for r in statuses[:statuses.index(limited[0])])
    resp = limited[0]
    assert error_code(resp) == "RATE_LIMITED"
    assert 1 <= int(resp.headers["Retry-After"]) <= 10
    assert resp.headers["X-RateLimit-Limit"] == "5"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert int(resp.headers["X-RateLimit-Reset"]) > 0


def test_limit_is_per_key(api):
    for _ in range(6):
        api.get("/api/users/me", headers=DEMO)
    assert api.get("/api/users/me", headers=DEMO).status_code == 429
    assert api.get("/api/users/me", headers=READER).status_code == 200


def test_remaining_counts_down(api):
    first = api.get("/api/users/me", headers=MANAGER)
    second = api.get("/api/users/me", headers=MANAGER)
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
    assert first.headers["X-RateLimit-Limit"] == second.headers["X-RateLimit-Limit"]


def test_anonymous_catalogue_reads_carry_no_rate_limit_headers(api):
    assert "X-RateLimit-Limit" not in api.get("/api/products/1").headers


def test_default_limit_can_be_changed_and_restored(api):
    try:
        assert api.put("/admin/rate-limit", json={"limit": 2, "window_s": 30}).status_code == 200
        codes = [api.get("/api/users/me", headers=READER).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        assert api.put("/admin/rate-limit", json={"limit": 100_000, "window_s": 60}).status_code == 200
    assert api.get("/api/users/me", headers=READER).status_code == 200


def test_rate_limit_settings_are_bounded(api):
    resp = api.put("/admin/rate-limit", json={"limit": 0, "window_s": 60})
    assert resp.status_code == 400
    assert api.get("/admin/rate-limit").json() == {"limit": 100_000, "window_s": 60}


def test_refused_requests_are_counted_as_rate_limit_violations_for_prometheus(api):
    from labkit.monitoring.exposition import sample_value, scrape

    before = sample_value(scrape(api.base), "rate_limit_violations_total")
    codes = [api.get("/api/weather", params={"city": "Kyiv"}, headers=DEMO).status_code for _ in range(8)]
    after = sample_value(scrape(api.base), "rate_limit_violations_total")
    assert after - before == codes.count(429) >= 3
