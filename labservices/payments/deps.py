"""What the payments routes get through ``Annotated`` dependencies besides the store and settings."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from labservices.common.deps import from_state

from .delivery import DeliveryConfig, Worker
from .flaky import Flaky

WorkerDep = Annotated[Worker, Depends(from_state("worker"))]
ConfigDep = Annotated[DeliveryConfig, Depends(from_state("delivery_config"))]
FlakyDep = Annotated[Flaky, Depends(from_state("flaky"))]

IntentPath = Annotated[str, Path(pattern=r"^pi_[A-Za-z0-9]{1,40}$", description="e.g. pi_abc123")]
EventPath = Annotated[str, Path(pattern=r"^evt_[A-Za-z0-9]{1,40}$", description="e.g. evt_1234567890")]
EndpointPath = Annotated[str, Path(pattern=r"^we_[A-Za-z0-9]{1,40}$", description="e.g. we_1Mr5jT")]
DeliveryPath = Annotated[str, Path(pattern=r"^dlv_[A-Za-z0-9]{1,40}$", description="e.g. dlv_8sHq2w")]
