"""The mailer's settings, read from ``MAILER_``-prefixed environment variables."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings
from labservices.common.deps import settings_of


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MAILER_", extra="ignore")

    api_key: str = Field("mc-lab-key-0000-us1", min_length=8,
                         description="The sandbox's API key, shown to students (Basic: any user name, the key as password)")
    retry_schedule_s: list[float] = Field(default_factory=lambda: [1.0, 5.0, 15.0], min_length=1, max_length=6,
                                          description="Waits between webhook attempts, in seconds")
    retry_time_scale: float = Field(1.0, gt=0, le=1, description="Multiplies the waits (tests use 0.01)")
    delivery_timeout_s: float = Field(5.0, ge=0.1, le=30)
    max_recipients: int = Field(500, ge=1, le=5000, description="Largest audience one campaign is sent to")


SettingsDep = Annotated[Settings, Depends(settings_of)]
