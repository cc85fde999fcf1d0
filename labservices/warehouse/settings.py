"""The warehouse's settings, read from ``WAREHOUSE_``-prefixed environment variables."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, novaposhta


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAREHOUSE_", extra="ignore")

    shop_api_key: str = Field("manager-key-456", description="The shop's API key of the 'warehouse-app' (role manager)")
    carrier_api_key: str = Field(novaposhta.SANDBOX_KEY, description="The carrier's apiKey")
    sync_retry_s: float = Field(2.0, gt=0, le=60, description="Wait before pushing to the shop again after a failure")
