"""Sandbox switches: the delivery schedule's time scale and timeout, and the flaky API for ex05."""
from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import ConfigDep, FlakyDep
from ..models import DeliverySettings, FlakyConfig, FlakyState

router = APIRouter(prefix="/admin", tags=["Lab"])


def current(config) -> DeliverySettings:
    return DeliverySettings(time_scale=config.time_scale, timeout_s=config.timeout_s,
                            schedule_s=config.scaled_schedule(), max_attempts=config.max_attempts)


@router.get("/delivery", response_model=DeliverySettings)
def get_delivery_settings(config: ConfigDep) -> DeliverySettings:
    """The retry schedule now in force (already scaled) and the receiver's timeout."""
    return current(config)


@router.put("/delivery", response_model=DeliverySettings)
def set_delivery_settings(body: DeliverySettings, config: ConfigDep) -> DeliverySettings:
    """Compress the schedule (time_scale 0.01: 1 min → 0.6 s) or change the timeout; applies to new waits.
    In memory only: a restart or POST /admin/reset goes back to the environment's settings."""
    config.time_scale, config.timeout_s = body.time_scale, body.timeout_s
    return current(config)


@router.delete("/delivery", status_code=204)
def restore_delivery_settings(config: ConfigDep) -> Response:
    """Go back to PAYMENTS_RETRY_TIME_SCALE and PAYMENTS_DELIVERY_TIMEOUT_S."""
    config.restore()
    return Response(status_code=204)


@router.get("/flaky", response_model=FlakyState)
def get_flaky(flaky: FlakyDep) -> FlakyState:
    """Failures still queued for POST /api/payment_intents, and the journal of calls since the last PUT."""
    return flaky.state()


@router.put("/flaky", response_model=FlakyState)
def set_flaky(body: FlakyConfig, flaky: FlakyDep) -> FlakyState:
    """Queue failures for the next POST /api/payment_intents calls (one each) and clear the journal (in memory only)."""
    flaky.configure(body)
    return flaky.state()


@router.delete("/flaky", status_code=204)
def clear_flaky(flaky: FlakyDep) -> Response:
    """No more failures; the journal is cleared."""
    flaky.configure(FlakyConfig())
    return Response(status_code=204)
