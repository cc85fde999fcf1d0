"""Settings every lab service reads from its environment, through one pydantic object.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix``
(``SHOP_DB_PATH``, ``SHOP_RATE_LIMIT_PER_MINUTE`` ...), builds one instance per
process and serves it through a cached dependency that tests override.
"""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def lab_home() -> Path:
    """The lab's state folder: ``$LAB_HOME`` or ``~/.integration-lab``."""
    return Path(os.environ.get("LAB_HOME") or Path.home() / ".integration-lab")


class ServiceSettings(BaseSettings):
    """What every service shares: where its data lives, how it logs, how big a request may be."""

    model_config = SettingsConfigDict(env_prefix="LAB_SERVICE_", extra="ignore")

    db_path: Path | None = Field(
        default=None, description="SQLite file; default <LAB_HOME>/data/<service>.sqlite3"
    )
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    public_url: str | None = Field(
        default=None, description="Base URL clients use, for Location and Link headers"
    )

    def database_path(self, service: str) -> Path:
        """The SQLite file for ``service``, creating its folder."""
        path = self.db_path or lab_home() / "data" / f"{service}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
