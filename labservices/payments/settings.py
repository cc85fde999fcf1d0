"""The payments service's settings, read from ``PAYMENTS_``-prefixed environment variables.

``PAYMENTS_RETRY_TIME_SCALE`` compresses the lecture's retry schedule (1 min, 5 min,
15 min, 1 h) for class: the default 1/60 turns minutes into seconds, ``1`` is the real
schedule and tests use ``0.001``. Lists are JSON, e.g.
``PAYMENTS_ALLOWED_HOSTS='["jupyterlab", "inspector"]'``.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings
from labservices.common.declaration import lab_hosts
from labservices.common.deps import settings_of

# The lecture's schedule: the first retry after 1 minute, then 5 minutes, 15 minutes and 1 hour.
LECTURE_SCHEDULE_S = (60.0, 300.0, 900.0, 3600.0)


class Settings(ServiceSettings):
    """Everything the payments service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore")

    retry_time_scale: float = Field(
        default=1 / 60, gt=0, le=1,
        description="Multiplies the retry schedule: 1 = the lecture's minutes, 1/60 = seconds, 0.001 for tests")
    delivery_timeout_s: float = Field(
        default=5.0, ge=0.1, le=30, description="A delivery succeeds only with a 2xx within this time")
    max_attempts: int = Field(default=5, ge=1, le=10, description="Attempts before a delivery is failed")
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: list(LECTURE_SCHEDULE_S), min_length=1, max_length=9,
        description="Waits between attempts, in seconds, before the time scale")
    max_in_flight: int = Field(default=16, ge=1, le=64, description="Deliveries sent at the same time")
    poll_interval_s: float = Field(default=0.5, gt=0, le=5, description="Longest the worker sleeps between looks")
    allowed_hosts: list[str] = Field(
        default_factory=lab_hosts,
        description="Host names besides loopback that webhook URLs may name (SSRF guard)")



SettingsDep = Annotated[Settings, Depends(settings_of)]
