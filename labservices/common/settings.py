"""Settings every lab service reads from its environment, through one pydantic object per app.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix``
(``SHOP_DB_PATH``, ``SHOP_RATE_LIMIT_PER_MINUTE`` ...). The factory builds one instance
for its app with :meth:`ServiceSettings.for_instance` and keeps it in ``app.state``;
routes read it through ``labservices.common.deps`` (never a process-wide singleton, since
one host process runs many apps, and two copies of one service differ in port and data).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .paths import lab_home

if TYPE_CHECKING:
    from .declaration import Instance

S = TypeVar("S", bound="ServiceSettings")


class ServiceSettings(BaseSettings):
    """What every service shares: where its data lives, how big a request may be, where clients reach it."""

    model_config = SettingsConfigDict(env_prefix="LAB_SERVICE_", extra="ignore")

    db_path: Path | None = Field(
        default=None, description="SQLite file; default <LAB_HOME>/data/<service>.sqlite3"
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    public_url: str | None = Field(
        default=None, description="Base URL clients use, for Location and Link headers"
    )

    @classmethod
    def for_instance(cls: type[S], instance: "Instance | None", **overrides) -> S:
        """Settings of one running copy: its environment, then its own data file.

        ``public_url`` stays unset unless configured: links are then built from the address
        each request came to, which is right for every client (loopback, compose, a proxy).
        """
        settings = cls(**overrides)
        if instance is not None and settings.db_path is None:  # copies of one service share its data
            settings.db_path = lab_home() / "data" / f"{instance.service.name}.sqlite3"
        return settings

    def database_path(self, service: str) -> Path:
        """The SQLite file for ``service``, creating its folder."""
        path = self.db_path or lab_home() / "data" / f"{service}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
