"""The middleware's settings, read from ``MIDDLEWARE_``-prefixed environment variables.

The credentials it holds for the systems it connects (as n8n keeps "credentials" per node):
the CRM's OAuth client, the mailer's API key. Retries: ``retry_attempts`` per step within ``retry_deadline_s``,
waits growing exponentially from ``retry_wait_s`` to at most ``retry_max_wait_s``, with full jitter
(``labservices.common.resilience.retrying``).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings
from labservices.common.deps import settings_of


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MIDDLEWARE_", extra="ignore")

    crm_client_id: str = "lab-middleware"
    crm_client_secret: str = "mw-secret"
    mailer_api_key: str = "mc-lab-key-0000-us1"
    retry_attempts: int = Field(3, ge=1, le=10, description="Attempts of one step before the run goes to dead letters")
    retry_wait_s: float = Field(0.5, ge=0, le=30, description="First wait between attempts (then doubled)")
    retry_max_wait_s: float = Field(4.0, ge=0, le=120)
    retry_deadline_s: float = Field(30.0, gt=0, le=600, description="No step is retried after this long")
    sender: str = "Інтернет-магазин лабораторії <orders@integration-lab.local>"


SettingsDep = Annotated[Settings, Depends(settings_of)]
