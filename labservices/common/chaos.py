"""Chaos switches: added latency, an error rate and a "down" mode, flipped over HTTP.

A notebook turns them on to show how a client must cope (timeouts, retries,
circuit breakers) and off again with ``DELETE /admin/chaos``.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .inputs import Int

MAX_LATENCY_MS = 10_000


class ChaosConfig(BaseModel):
    """What the chaos switches inject into every request outside ``/admin``, ``/metrics`` and /docs."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # booleans and numbers as JSON has them: "down": 0 is an error, not False
        json_schema_extra={"examples": [{"latency_ms": 300, "jitter_ms": 100, "error_rate": 0.2, "error_status": 503, "down": False}]},
    )

    latency_ms: Int = Field(0, ge=0, le=MAX_LATENCY_MS, description="Delay added to each request")
    jitter_ms: Int = Field(0, ge=0, le=MAX_LATENCY_MS, description="Extra random delay, 0..jitter_ms")
    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="Share of requests answered with error_status")
    error_status: Literal[500, 502, 503, 504] = Field(500, description="Status of injected errors")
    down: bool = Field(False, description="Answer every request (health included) with 503")


@dataclass
class ChaosState:
    latency_ms: int = 0
    jitter_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    down: bool = False

    def update(self, cfg: ChaosConfig) -> None:
        for key, value in cfg.model_dump().items():
            setattr(self, key, value)

    def clear(self) -> None:
        self.update(ChaosConfig())

    def as_config(self) -> ChaosConfig:
        return ChaosConfig(**asdict(self))

    def delay_seconds(self) -> float:
        extra = random.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0
        return (self.latency_ms + extra) / 1000.0

    def roll_error(self) -> bool:
        return self.error_rate > 0 and random.random() < self.error_rate
