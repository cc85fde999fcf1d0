"""Accounting's settings, read from ``ACCOUNTING_``-prefixed environment variables."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings
from labservices.common.deps import settings_of


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ACCOUNTING_", extra="ignore")

    liqpay_public_key: str = Field("sandbox_i00000000001", description="The shop's LiqPay public key (sandbox)")
    liqpay_private_key: str = Field("sandbox_lab_private_key_2024", min_length=8,
                                    description="The LiqPay private key that signs callbacks (a sandbox secret)")


SettingsDep = Annotated[Settings, Depends(settings_of)]
