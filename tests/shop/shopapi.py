"""Helpers the shop's tests share: an HTTP client for the shop, the sandbox's credentials, error accessors."""
from __future__ import annotations

import uuid
from typing import Any

import requests

READER = {"X-API-Key": "abc123def456"}
MANAGER = {"X-API-Key": "manager-key-456"}
ADMIN = {"X-API-Key": "admin-key-789"}
LECTURE_ORDER = {"customer_id": "67890", "items": [{"product_id": "ABC", "quantity": 2}, {"product_id": "XYZ", "quantity": 1}]}


class Api:
    """``requests`` against the shop: paths instead of URLs, a timeout on every call."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def token(self, client_id: str = "my_app", client_secret: str = "secret123", **form: str) -> str:
        resp = self.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                "client_secret": client_secret, **form})
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]


def error_code(resp: requests.Response) -> str:
    return resp.json()["error"]["code"]


def fields(resp: requests.Response) -> list[str]:
    return [d["field"] for d in resp.json()["error"]["details"]]


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
