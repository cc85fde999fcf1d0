"""What the payments routes get through ``Annotated`` dependencies besides the store and settings."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from .delivery import DeliveryConfig, Worker
from .flaky import Flaky


def get_worker(request: Request) -> Worker:
    return request.app.state.worker


def get_config(request: Request) -> DeliveryConfig:
    return request.app.state.delivery_config


def get_flaky(request: Request) -> Flaky:
    return request.app.state.flaky


WorkerDep = Annotated[Worker, Depends(get_worker)]
ConfigDep = Annotated[DeliveryConfig, Depends(get_config)]
FlakyDep = Annotated[Flaky, Depends(get_flaky)]

IntentPath = Annotated[str, Path(pattern=r"^pi_[A-Za-z0-9]{1,40}$", description="e.g. pi_abc123")]
EventPath = Annotated[str, Path(pattern=r"^evt_[A-Za-z0-9]{1,40}$", description="e.g. evt_1234567890")]
EndpointPath = Annotated[str, Path(pattern=r"^we_[A-Za-z0-9]{1,40}$", description="e.g. we_1Mr5jT")]
DeliveryPath = Annotated[str, Path(pattern=r"^dlv_[A-Za-z0-9]{1,40}$", description="e.g. dlv_8sHq2w")]
