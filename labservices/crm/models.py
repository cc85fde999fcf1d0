"""The CRM's schemas, in families per resource: Create, Update, Public, the list."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labservices.common.inputs import STRICT, Email, PatchModel, trimmed
from labservices.common.pagination import Pagination

Input = ConfigDict(extra="forbid", str_max_length=2_000, **STRICT)
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]
Tag = trimmed(40)
ContactId = Annotated[str, StringConstraints(pattern=r"^003[A-Za-z0-9]{15}$"), Field(examples=["003a1B2c3D4e5F6g7H"])]
DealId = Annotated[str, StringConstraints(pattern=r"^006[A-Za-z0-9]{15}$"), Field(examples=["006a1B2c3D4e5F6g7H"])]
ExternalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,64}$"), Field(examples=["order-1001"])]
Stage = Literal["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
ActivityType = Literal["email_opened", "email_clicked", "email_sent", "order", "note"]


class ContactFields(BaseModel):
    model_config = Input
    first_name: Name = Field(default="", examples=["Олена"])
    last_name: Name = Field(default="", examples=["Коваленко"])
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = Field(
        default="", examples=["+380501234567"])
    city: Name = Field(default="", examples=["Львів"])
    lead_source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = Field(
        default="", examples=["Web"])
    tags: list[Tag] = Field(default_factory=list, max_length=20, examples=[["vip"]])


class ContactCreate(ContactFields):
    email: Email


class ContactUpsert(ContactFields):
    """PUT by email: the fields to set (the email is in the path)."""


class ContactUpdate(PatchModel):
    model_config = Input
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    city: Name | None = None
    lead_source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)


class ContactPublic(BaseModel):
    id: str = Field(examples=["003a1B2c3D4e5F6g7H"])
    email: str
    first_name: str
    last_name: str
    phone: str
    city: str
    lead_source: str
    tags: list[str]
    created_at: str
    updated_at: str


class ContactsPublic(BaseModel):
    data: list[ContactPublic]
    pagination: Pagination


class DealFields(BaseModel):
    model_config = Input
    name: trimmed(120) = Field(
        examples=["Замовлення order-1001"])
    amount: float = Field(ge=0, le=100_000_000, allow_inf_nan=False, examples=[45549])
    currency: Literal["UAH", "USD", "EUR"] = "UAH"
    stage: Stage = "Prospecting"
    contact_id: ContactId


class DealCreate(DealFields):
    external_id: ExternalId | None = None


class DealUpsert(DealFields):
    """PUT by external id: the deal's fields (the external id, e.g. the order's, is in the path)."""


class DealUpdate(PatchModel):
    model_config = Input
    name: trimmed(120) | None = None
    amount: float | None = Field(default=None, ge=0, le=100_000_000, allow_inf_nan=False)
    stage: Stage | None = None


class DealPublic(BaseModel):
    id: str = Field(examples=["006a1B2c3D4e5F6g7H"])
    name: str
    amount: float
    currency: str
    stage: Stage
    contact_id: str
    external_id: str | None
    created_at: str
    updated_at: str


class DealsPublic(BaseModel):
    data: list[DealPublic]
    pagination: Pagination


class ActivityCreate(BaseModel):
    model_config = Input
    type: ActivityType
    subject: trimmed(200) = Field(
        examples=["Відкрив лист «Весняний розпродаж»"])
    external_id: ExternalId | None = Field(default=None, description="The same external id is recorded once")


class ActivityPublic(BaseModel):
    id: int
    contact_id: str
    type: ActivityType
    subject: str
    external_id: str | None
    created_at: str
