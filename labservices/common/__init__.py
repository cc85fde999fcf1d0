"""What every lab service shares: the app factory, errors, settings, logs, metrics, chaos, SQLite."""
from .app import create_app
from .db import Database, where_clause
from .errors import ApiError, error_responses
from .settings import ServiceSettings, lab_home

__all__ = ["create_app", "Database", "where_clause", "ApiError", "error_responses", "ServiceSettings", "lab_home"]
