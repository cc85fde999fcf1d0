"""The inspector's settings, read from ``INSPECTOR_``-prefixed environment variables."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings
from labservices.common.declaration import lab_hosts
from labservices.common.deps import settings_of


class Settings(ServiceSettings):
    """Everything the inspector reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INSPECTOR_", extra="ignore")

    max_bins: int = Field(default=100, ge=1, le=10_000, description="Bins that may exist at once")
    max_requests_per_bin: int = Field(default=100, ge=1, le=10_000,
                                      description="Captured requests kept per bin; the oldest go first")
    keep_body_bytes: int = Field(default=65_536, ge=1024, le=1_000_000, description="Bytes of a body kept")
    replay_timeout_s: float = Field(default=10.0, ge=0.1, le=30)
    allowed_hosts: list[str] = Field(default_factory=lab_hosts,
                                     description="Host names besides loopback a replay may target (SSRF guard)")



SettingsDep = Annotated[Settings, Depends(settings_of)]
