"""Every address comes from one place, overridable by LAB_<NAME>_URL."""
import pytest

from labkit import config, url


def test_default_shop_url_is_loopback(monkeypatch):
    monkeypatch.delenv("LAB_SHOP_URL", raising=False)
    assert url("shop") == "http://127.0.0.1:8001"


def test_env_overrides_and_trailing_slash_is_dropped(monkeypatch):
    monkeypatch.setenv("LAB_SHOP_URL", "http://shop:8001/")
    assert url("shop") == "http://shop:8001"


def test_unknown_service_names_the_known_ones():
    with pytest.raises(KeyError, match="Known services: .*shop"):
        url("nope")


@pytest.mark.parametrize("address,local", [
    ("http://127.0.0.1:8001", True), ("http://localhost:1", True), ("http://shop:8001", False),
    ("127.0.0.1:9092", True), ("kafka:9092", False),
])
def test_is_local(address, local):
    assert config.is_local(address) is local
