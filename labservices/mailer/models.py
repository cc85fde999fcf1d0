"""The mailer's schemas, in the shape of Mailchimp's Marketing API 3.0 (what integrations expect)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from labservices.common.inputs import STRICT, Email, matches, trimmed

Input = ConfigDict(extra="forbid", str_max_length=100_000, **STRICT)
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # what goes into a mail header: no control characters, no line breaks
SUBJECT = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"  # one line, and more than spaces
HeaderText = Annotated[str, StringConstraints(max_length=100, pattern=ONE_LINE), AfterValidator(str.strip)]


def subject(max_length: int) -> Any:
    """A mail subject: one line with more than spaces, kept without surrounding spaces."""
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length, pattern=SUBJECT),
                     AfterValidator(str.strip)]


TagName = trimmed(100)
MemberStatus = Literal["subscribed", "unsubscribed", "cleaned", "pending", "transactional"]
ListId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{10}$"), Field(examples=["a1b2c3d4e5"])]
SubscriberHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{32}$"),
                           Field(description="MD5 of the lower-cased email", examples=["62eeb292278cc15f5817cb78f7790b08"])]
CampaignId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{10}$")]
MERGE_TAG = r"^[A-Z][A-Z0-9_]{0,19}$"
HEADER = r"^[A-Za-z][A-Za-z0-9\-]{0,40}$"


def only_keys(pattern: str) -> dict:
    """A JSON schema fragment: the object's keys must match ``pattern`` (pydantic says so in patternProperties only)."""
    return {"propertyNames": {"pattern": pattern}, "additionalProperties": False}


MergeFields = Annotated[dict[Annotated[str, StringConstraints(pattern=MERGE_TAG)], Short],
                        Field(max_length=20, examples=[{"FNAME": "Олена", "LNAME": "Коваленко", "CITY": "Львів"}],
                              json_schema_extra=only_keys(MERGE_TAG))]


URL = r"^https?://[!-~]+$"  # printable ASCII after the scheme
Url = Annotated[str, StringConstraints(max_length=2000), matches(URL, "Адреса має починатися з http:// або https://"),
                Field(json_schema_extra={"pattern": URL})]


class CampaignDefaults(BaseModel):
    model_config = Input
    from_name: HeaderText = Field(examples=["Інтернет-магазин лабораторії"])
    from_email: Email = Field(examples=["news@integration-lab.local"])
    subject: HeaderText = ""
    language: Annotated[str, StringConstraints(max_length=10)] = "uk"


class ListCreate(BaseModel):
    model_config = Input
    name: trimmed(100) = Field(
        examples=["Клієнти магазину"])
    campaign_defaults: CampaignDefaults
    permission_reminder: Annotated[str, StringConstraints(max_length=500)] = "Ви купували в нашому магазині"
    contact: dict[str, Any] | None = Field(default=None, description="Accepted as Mailchimp does, not used")
    email_type_option: bool = False


class MemberUpsert(BaseModel):
    """PUT /members/{subscriber_hash}: add or update (``status_if_new`` for a new member)."""

    model_config = Input
    email_address: Email
    status_if_new: MemberStatus = "subscribed"
    status: MemberStatus | None = None
    merge_fields: MergeFields = Field(default_factory=dict)
    tags: list[TagName] | None = Field(default=None, max_length=50)


class MemberCreate(BaseModel):
    model_config = Input
    email_address: Email
    status: MemberStatus
    merge_fields: MergeFields = Field(default_factory=dict)
    tags: list[TagName] = Field(default_factory=list, max_length=50)


class TagChange(BaseModel):
    model_config = Input
    name: TagName
    status: Literal["active", "inactive"]


class TagsUpdate(BaseModel):
    model_config = Input
    tags: list[TagChange] = Field(min_length=1, max_length=50)


class Condition(BaseModel):
    model_config = Input
    field: Annotated[str, StringConstraints(pattern=r"^(tag|email_address|status|merge_fields\.[A-Z][A-Z0-9_]{0,19})$")] = Field(
        examples=["merge_fields.CITY"])
    op: Literal["is", "not", "contains"] = "is"
    value: Short = Field(examples=["Львів"])


class SegmentOptions(BaseModel):
    model_config = Input
    match: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(min_length=1, max_length=10)


class SegmentCreate(BaseModel):
    """A saved segment (``options``: conditions) or a static one (``static_segment``: emails)."""

    model_config = Input
    name: trimmed(100)
    options: SegmentOptions | None = None
    static_segment: list[Email] | None = Field(default=None, max_length=1000)


class WebhookEvents(BaseModel):
    model_config = Input
    open: bool = False
    click: bool = False
    subscribe: bool = False
    unsubscribe: bool = False


class WebhookCreate(BaseModel):
    model_config = Input
    url: Url = Field(examples=["http://127.0.0.1:8034/webhooks/mailer"])
    events: WebhookEvents


class Recipients(BaseModel):
    model_config = Input
    list_id: ListId
    segment_opts: dict[Literal["saved_segment_id"], int] | None = Field(default=None, examples=[{"saved_segment_id": 1}])


class CampaignSettings(BaseModel):
    model_config = Input
    subject_line: subject(150)
    from_name: HeaderText = ""
    reply_to: Email | None = None
    title: Short = ""


class CampaignCreate(BaseModel):
    model_config = Input
    type: Literal["regular"] = "regular"
    recipients: Recipients
    settings: CampaignSettings


class CampaignContent(BaseModel):
    model_config = Input
    plain_text: Annotated[str, StringConstraints(max_length=50_000)] = ""
    html: Annotated[str, StringConstraints(max_length=100_000)] = ""


class Recipient(BaseModel):
    model_config = Input
    email: Email
    name: Short = ""
    type: Literal["to", "cc", "bcc"] = "to"


class TransactionalMessage(BaseModel):
    """Mandrill's ``message``: one email to one or more people, sent now (order confirmations, receipts)."""

    model_config = Input
    subject: subject(200)
    text: Annotated[str, StringConstraints(max_length=50_000)] = ""
    html: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    from_email: Email = "orders@integration-lab.local"
    from_name: HeaderText = ""
    to: list[Recipient] = Field(min_length=1, max_length=20)
    headers: dict[Annotated[str, StringConstraints(pattern=HEADER)],
                  Annotated[str, StringConstraints(max_length=300, pattern=ONE_LINE)]] = Field(
        default_factory=dict, max_length=10, examples=[{"Message-Id": "<order-1001@shop.example.com>"}],
        json_schema_extra=only_keys(HEADER))


class TransactionalSend(BaseModel):
    model_config = Input
    key: Annotated[str, StringConstraints(max_length=100)] = Field(examples=["mc-lab-key-0000-us1"])
    message: TransactionalMessage
