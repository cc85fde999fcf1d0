"""What every lab service shares: the app factory, errors, settings, logs, metrics, chaos, SQLite.

Attributes load on first use, so that reading the service declarations
(``labservices.common.declaration``) does not import FastAPI.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "create_app": "app",
    "Database": "db",
    "where_clause": "db",
    "ApiError": "errors",
    "error_responses": "errors",
    "ServiceSettings": "settings",
    "lab_home": "paths",
    "Service": "declaration",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labservices.common' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
