"""Calls to the lab's services by name, at the addresses the test session gave them (``LAB_<NAME>_URL``)."""
from __future__ import annotations

import requests

from labkit import config


class Lab:
    """``lab.get("warehouse", "/api/stock")``, ``lab.post("crm", path, json=...)``: any method, any service."""

    def __getattr__(self, method: str):
        def call(service: str, path: str, **kwargs) -> requests.Response:
            return requests.request(method.upper(), config.url(service) + path, timeout=kwargs.pop("timeout", 15),
                                    **kwargs)
        return call
