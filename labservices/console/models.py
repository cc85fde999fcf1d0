"""What the console's page reads and sends: the schemas of its small JSON API."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from labservices.common.inputs import STRICT, PatchModel, whole_number


class ComponentPublic(BaseModel):
    """One row of `lab status`, with the service's chaos switches when it has them."""

    name: str = Field(examples=["shop"])
    kind: str = Field(examples=["service"], description="broker, host or service")
    url: str
    health: str = Field(examples=["healthy"], description="healthy, unhealthy, stopped or external")
    state: str = Field(examples=["running"])
    pid: int | None = None
    pss_mb: float | None = Field(default=None, description="Memory (PSS) of its own process; hosted services share the host's")
    note: str = ""
    chaos: dict | None = Field(default=None, description="Its chaos switches now, if it is a running service")
    controllable: bool = Field(description="Whether the console can stop and start it")
    docs: str | None = Field(default=None, description="Its /docs as the student's browser reaches it")


class OverviewPublic(BaseModel):
    """The lab at one moment: every component, and the memory of the lab's processes together."""

    components: list[ComponentPublic]
    total_pss_mb: float = Field(description="Sum of the PSS of every process the lab runs")
    home: str = Field(description="The lab's state folder (LAB_HOME)")


class ChaosUpdate(PatchModel):
    """Switches to set on one service (as `lab chaos`): at least one; omitted ones keep their value."""

    model_config = ConfigDict(extra="forbid", **STRICT, json_schema_extra={"minProperties": 1})
    latency_ms: Annotated[int, Field(ge=0, le=10_000), BeforeValidator(whole_number)] | None = None
    jitter_ms: Annotated[int, Field(ge=0, le=10_000), BeforeValidator(whole_number)] | None = None
    error_rate: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    error_status: Annotated[int, Field(ge=500, le=504), BeforeValidator(whole_number)] | None = None
    down: bool | None = None


class QueuePublic(BaseModel):
    """One RabbitMQ queue and how many messages wait in it."""

    vhost: str
    name: str
    ready: int
    unacked: int
    consumers: int
