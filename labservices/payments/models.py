"""The payments service's pydantic schemas, in families per resource: Create, Update, Public.

Input models forbid unknown fields, so a typo answers 400 VALIDATION_ERROR instead of
being ignored; every string, list and number a client sends is bounded.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from labservices.common.inputs import STRICT, Int, PatchModel, trimmed, whole_number

from labservices.common import signing

Input = ConfigDict(extra="forbid", str_max_length=10_000, **STRICT)

EVENT_TYPES = [
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    "pull_request",
]
EventType = Literal[
    "payment_intent.created", "payment_intent.succeeded", "payment_intent.payment_failed",
    "payment_intent.canceled", "charge.refunded", "pull_request",
]
Currency = Literal["uah", "usd", "eur"]
IntentStatus = Literal["requires_payment_method", "requires_confirmation", "succeeded", "canceled"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]

IntentId = Annotated[str, StringConstraints(pattern=r"^pi_[A-Za-z0-9]{1,40}$")]
EventId = Annotated[str, StringConstraints(pattern=r"^evt_[A-Za-z0-9]{1,40}$")]
EndpointId = Annotated[str, StringConstraints(pattern=r"^we_[A-Za-z0-9]{1,40}$")]
DeliveryId = Annotated[str, StringConstraints(pattern=r"^dlv_[A-Za-z0-9]{1,40}$")]
PaymentMethod = Annotated[trimmed(64),
                          Field(examples=["pm_card_visa"])]


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 20:
        raise ValueError("Не більше 20 ключів у metadata")
    for key, item in value.items():
        if not 1 <= len(key) <= 40 or not re.fullmatch(r"[A-Za-z0-9_.\-]+", key):
            raise ValueError(f"Ключ {key[:40]!r}: 1–40 латинських літер, цифр або _ . -")
        if len(item) > 500:
            raise ValueError(f"Значення {key!r} довше за 500 символів")
    return value


METADATA_KEY = r"^[A-Za-z0-9_.\-]{1,40}$"
Metadata = Annotated[dict[str, str], AfterValidator(_metadata), Field(examples=[{"order_id": "6735"}], json_schema_extra={
    "maxProperties": 20, "propertyNames": {"pattern": METADATA_KEY},
    "additionalProperties": {"type": "string", "maxLength": 500}})]


# --- payment intents ----------------------------------------------------------------


class PaymentIntentCreate(BaseModel):
    """A payment of ``amount`` minor units (kopiykas: 5000 = 50.00 UAH), as Stripe counts money."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"amount": 5000, "currency": "uah", "customer": "cus_xyz789", "metadata": {"order_id": "6735"}}]})

    amount: Int = Field(ge=1, le=99_999_999, examples=[5000])
    currency: Currency = "uah"
    customer: Annotated[str, StringConstraints(pattern=r"^cus_[A-Za-z0-9]{1,40}$")] | None = None
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    metadata: Metadata = Field(default_factory=dict)
    payment_method: PaymentMethod | None = None
    confirm: bool = Field(False, description="Confirm at once (needs payment_method)")
    fail: bool = Field(False, description="Decline the card whatever it is (with confirm)")


class PaymentIntentConfirm(BaseModel):
    """Which test card pays: pm_card_visa succeeds, pm_card_chargeDeclined fails (or card numbers 4242…, 4000…0002)."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"payment_method": "pm_card_visa"}]})

    payment_method: PaymentMethod | None = None
    fail: bool = Field(False, description="Decline the card whatever it is")


class PaymentError(BaseModel):
    code: str
    decline_code: str
    message: str
    payment_method: str


class PaymentIntentPublic(BaseModel):
    """A payment intent as Stripe shows it (``data.object`` of its events)."""

    id: str = Field(examples=["pi_abc123"])
    object: Literal["payment_intent"] = "payment_intent"
    amount: int = Field(examples=[5000])
    currency: str = Field(examples=["uah"])
    customer: str | None = Field(examples=["cus_xyz789"])
    description: str | None
    status: IntentStatus
    payment_method: str | None
    metadata: dict[str, str]
    last_payment_error: PaymentError | None
    amount_refunded: int = Field(0, description="Minor units given back by refunds")
    created: int = Field(examples=[1707389445])


class PaymentIntentsPublic(BaseModel):
    data: list[PaymentIntentPublic]


class RefundCreate(BaseModel):
    """Give money back for a succeeded payment: all of what is left, or ``amount`` of it."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"payment_intent": "pi_abc123"}]})

    payment_intent: Annotated[str, StringConstraints(pattern=r"^pi_[A-Za-z0-9]{1,40}$")]
    amount: Annotated[int, Field(ge=1, le=99_999_999), BeforeValidator(whole_number)] | None = Field(
        None, description="Minor units (default: all not refunded yet)")
    reason: Literal["requested_by_customer", "duplicate", "fraudulent"] = "requested_by_customer"


class RefundPublic(BaseModel):
    """A refund as Stripe shows it (``charge.refunded`` carries its payment intent)."""

    id: str = Field(examples=["re_abc123"])
    object: Literal["refund"] = "refund"
    payment_intent: str
    amount: int
    currency: str
    reason: str
    status: Literal["succeeded"] = "succeeded"
    created: int


class RefundsPublic(BaseModel):
    data: list[RefundPublic]


# --- webhook endpoints --------------------------------------------------------------


def _events(value: list[str]) -> list[str]:
    unknown = [v for v in value if v != "*" and v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"Невідомий тип події {unknown[0][:60]!r}; доступні: *, {', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(value))


EnabledEvents = Annotated[list[Annotated[str, StringConstraints(max_length=64),
                                         Field(json_schema_extra={"enum": ["*", *EVENT_TYPES]})]],
                          Field(min_length=1, max_length=20, examples=[["payment_intent.succeeded"]]),
                          AfterValidator(_events)]
Url = Annotated[trimmed(2048),
                Field(examples=["http://127.0.0.1:9000/webhooks/payments"])]
Description = trimmed(200, min_length=0)


class WebhookEndpointCreate(BaseModel):
    """Where to send which events. ``secret`` is optional: without it the service makes one (``whsec_...``)."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"url": "http://127.0.0.1:9000/webhooks/payments", "enabled_events": ["payment_intent.succeeded"],
         "description": "мій магазин"}]})

    url: Url
    enabled_events: EnabledEvents
    description: Description = ""
    secret: str | None = Field(None, max_length=120, description="Your own whsec_<base64> secret (as Svix allows)",
                               json_schema_extra={"pattern": signing.SECRET_PATTERN})

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and not signing.is_valid_secret(value):
            raise ValueError("Секрет має вигляд whsec_<base64 від 24–64 байтів>")
        return value


class WebhookEndpointUpdate(PatchModel):
    """Change an endpoint: a field left out stays as it is. A disabled endpoint gets no new events."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"status": "disabled"}]})

    url: Url | None = None
    enabled_events: EnabledEvents | None = None
    description: Description | None = None
    status: Literal["enabled", "disabled"] | None = None


class WebhookEndpointPublic(BaseModel):
    """An endpoint; ``secret`` is shown only when it is created or rolled (GET .../secret shows it again)."""

    id: str = Field(examples=["we_1Mr5jT"])
    url: str
    description: str
    enabled_events: list[str]
    status: Literal["enabled", "disabled"]
    created: int
    secret: str | None = Field(None, examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    rolled_secret_expires_at: str | None = Field(None, description="Until when the previous secret also signs")


class WebhookEndpointsPublic(BaseModel):
    data: list[WebhookEndpointPublic]


class SecretRoll(BaseModel):
    """How long the old secret keeps signing beside the new one (0: stop at once)."""

    model_config = ConfigDict(**Input)

    expires_in_s: Int = Field(3600, ge=0, le=86_400)


class EndpointSecret(BaseModel):
    secret: str


# --- events, triggers and deliveries ----------------------------------------------------


class EventPublic(BaseModel):
    """An event: ``payload`` is exactly the JSON each delivery carries."""

    id: str = Field(examples=["evt_1234567890"])
    type: str = Field(examples=["payment_intent.succeeded"])
    source: Literal["payments", "github"]
    object_id: str | None
    created: int
    payload: dict[str, Any]


class EventsPublic(BaseModel):
    data: list[EventPublic]


class TriggerCreate(BaseModel):
    """Like ``stripe trigger``: make the objects an event needs, so the event (and those before it) fire."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"event": "payment_intent.succeeded", "amount": 5000, "metadata": {"order_id": "6735"}}]})

    event: EventType
    amount: Int = Field(5000, ge=1, le=99_999_999)
    currency: Currency = "uah"
    metadata: Metadata = Field(default_factory=dict)


class TriggerResult(BaseModel):
    event: str
    events: list[str] = Field(description="Ids of every event fired, oldest first")
    object: dict[str, Any]


class Redeliver(BaseModel):
    """Resend to one endpoint (subscribed or not), or, without it, to every endpoint it went to."""

    model_config = ConfigDict(**Input)

    endpoint_id: EndpointId | None = None


class AttemptPublic(BaseModel):
    number: int
    manual: bool
    scheduled_at: str
    started_at: str
    late_ms: float = Field(description="How long after its scheduled time the attempt started")
    duration_ms: float
    status_code: int | None
    error: str | None
    response_body: str | None
    succeeded: bool


class DeliveryPublic(BaseModel):
    """One event on its way to one endpoint, with every attempt so far."""

    id: str = Field(examples=["dlv_8sHq2w"])
    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    status: DeliveryStatus
    mode: Literal["auto", "manual"]
    attempts_made: int
    next_attempt_at: str | None
    created_at: str
    last_status_code: int | None
    attempts: list[AttemptPublic]


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]


AttackKind = Literal["forged_signature", "tampered_body", "stale_replay", "retimestamped_replay", "unsigned"]


class AttackCreate(BaseModel):
    """What an attacker sends to your endpoint, built from a real event (nothing is stored or retried)."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"kind": "stale_replay", "event_id": "evt_1234567890", "age_s": 600}]})

    kind: AttackKind
    event_id: EventId
    age_s: Int = Field(600, ge=1, le=86_400, description="How old the captured request is (replays)")


class AttackResult(BaseModel):
    kind: AttackKind
    url: str
    sent_headers: dict[str, str]
    sent_body: str
    status_code: int | None
    duration_ms: float
    response_body: str | None
    error: str | None
    accepted: bool = Field(description="True when the endpoint answered 2xx: it fell for it")


# --- GitHub-like source -----------------------------------------------------------------


class PullRequestCreate(BaseModel):
    """Open a pull request: GitHub would now send ``pull_request`` (``action: opened``) to its webhooks."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"repository": "company/my-project", "title": "Fix authentication bug", "user": "developer123",
         "head_ref": "fix-auth-bug"}]})

    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,39}/[A-Za-z0-9_.\-]{1,100}$")] = \
        "company/my-project"
    title: trimmed(200)
    user: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{1,39}$")] = "developer123"
    head_ref: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-/]{1,100}$")] = "fix-auth-bug"


class PullRequestPublic(BaseModel):
    id: int
    number: int
    title: str
    state: str
    user: dict[str, str]
    head: dict[str, str]
    event_id: str


# --- sandbox switches -------------------------------------------------------------------


class DeliverySettings(BaseModel):
    """The delivery worker's knobs: the schedule's time scale and the timeout a receiver gets."""

    model_config = ConfigDict(extra="forbid", **STRICT, json_schema_extra={"examples": [{"time_scale": 0.01, "timeout_s": 2}]})

    time_scale: float = Field(gt=0, le=1, description="1 = the lecture's minutes; 1/60 = seconds; 0.001 for tests")
    timeout_s: float = Field(ge=0.1, le=30)
    schedule_s: list[float] = Field(default_factory=list, description="Waits between attempts now (read-only)")
    max_attempts: Int = Field(5, description="Read-only")


FailureKind = Literal["500", "502", "503", "429", "500_after_commit", "timeout"]


class FlakyConfig(BaseModel):
    """How the next ``POST /api/payment_intents`` requests fail, one failure each, in order."""

    model_config = ConfigDict(extra="forbid", **STRICT, json_schema_extra={"examples": [
        {"failures": ["503", "500_after_commit", "429", "timeout"], "retry_after_s": 1, "hold_s": 3}]})

    failures: list[FailureKind] = Field(default_factory=list, max_length=20)
    retry_after_s: Int = Field(1, ge=1, le=30, description="Retry-After of a 429")
    hold_s: float = Field(3.0, ge=0.1, le=10, description="How long `timeout` holds the answer back")


class FlakyCall(BaseModel):
    at: float = Field(description="Epoch seconds when the request arrived")
    idempotency_key: str | None
    outcome: str = Field(description="The failure served, or ok / replayed")
    status: int
    intent_id: str | None


class FlakyState(BaseModel):
    failures: list[FailureKind]
    retry_after_s: int
    hold_s: float
    journal: list[FlakyCall]
