"""The shop's pydantic schemas, in families per resource: Create, Replace (PUT), Update (PATCH), Public.

Input models forbid unknown fields, so a typo answers 400 VALIDATION_ERROR instead of
being ignored. ``...PublicV2`` are the version-2 representations (see ``versions.py``).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PlainValidator, StringConstraints,
                      WithJsonSchema)

from pydantic_core import PydanticCustomError

from labservices.common.inputs import STRICT, Email, Int, IsoDate, PatchModel, matches, trimmed, whole_number
from labservices.common.pagination import Pagination

MAX_ID = 2**53 - 1  # the largest id every JSON client holds exactly (JavaScript's MAX_SAFE_INTEGER); beyond: 400

Id = Annotated[int, Field(ge=1, le=MAX_ID, examples=[12345])]


# Formats are written once, as patterns, and both validate and document a field: what /docs shows
# is what is accepted. Character classes are spelled out in ASCII, so Python and the JSON Schema
# (ECMA) regex dialects agree on them.
USERNAME = r"^[a-z0-9_.\-]+$"
SKU = r"^[A-Za-z0-9\-]*[A-Za-z\-][A-Za-z0-9\-]*$"  # at least one letter: "123" is an id, not a SKU


_matches = matches


def _birth_date(value: date | None) -> date | None:
    if value is not None and not date(1900, 1, 1) <= value <= date.today():  # a rule JSON Schema cannot state
        raise PydanticCustomError("date_out_of_range", "Дата народження має бути між 1900-01-01 і сьогоднішнім днем")
    return value


def _money(value: float) -> int | float:
    """45000.0 → 45000 (as the lecture writes prices), 99.99 stays 99.99."""
    return int(value) if float(value).is_integer() else round(value, 2)


Username = Annotated[str, StringConstraints(min_length=3, max_length=32),
                     _matches(USERNAME, "Лише малі латинські літери, цифри та _ . -"),
                     Field(examples=["ivan_petrenko"], json_schema_extra={"pattern": USERNAME})]
Name = trimmed(100)
City = trimmed(60)
BirthDate = Annotated[IsoDate, AfterValidator(_birth_date)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
UserRole = Literal["user", "moderator", "manager", "admin"]
Sku = Annotated[str, StringConstraints(min_length=2, max_length=32),
                _matches(SKU, "SKU: латинські літери, цифри та '-', хоча б одна літера (наприклад ABC)"),
                AfterValidator(str.upper), Field(examples=["ABC"], json_schema_extra={"pattern": SKU})]
Title = trimmed(200)
Category = Literal["electronics", "books", "furniture", "clothing"]
PriceIn = Annotated[float, Field(gt=0, le=10_000_000, allow_inf_nan=False, examples=[45000]),
                    AfterValidator(lambda v: round(v, 2))]
Price = Annotated[float, PlainSerializer(_money, return_type=int | float)]
OrderStatus = Literal["pending", "paid", "shipped", "cancelled"]
Quantity = Annotated[int, Field(ge=1, le=100, examples=[2]), BeforeValidator(whole_number)]

Input = ConfigDict(extra="forbid", str_max_length=10_000, **STRICT)


# --- pagination ---------------------------------------------------------------------


# --- users --------------------------------------------------------------------------

LECTURE_USER = {
    "id": 12345, "username": "ivan_petrenko", "email": "ivan@example.com",
    "profile": {"first_name": "Іван", "last_name": "Петренко", "date_of_birth": "1995-03-15", "city": "Київ"},
    "roles": ["user", "moderator"], "active": True,
    "created_at": "2023-01-10T14:30:00Z", "last_login": "2024-02-08T09:15:32Z",
}


class Profile(BaseModel):
    first_name: str
    last_name: str
    date_of_birth: date | None
    city: str | None


class UserPublic(BaseModel):
    """A user as API version 1 shows it: the lecture's JSON, with a nested ``profile``."""

    model_config = ConfigDict(json_schema_extra={"examples": [LECTURE_USER]})

    id: int
    username: str
    email: str
    profile: Profile
    roles: list[str]
    active: bool
    created_at: datetime
    last_login: datetime | None


class UserPublicV2(BaseModel):
    """A user as API version 2 shows it: the profile's fields moved to the top level."""

    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    city: str | None
    roles: list[str]
    active: bool
    created_at: datetime
    last_login: datetime | None


class UsersPublic(BaseModel):
    data: list[UserPublic]
    pagination: Pagination


class UsersPublicV2(BaseModel):
    data: list[UserPublicV2]
    pagination: Pagination


class UserCreate(BaseModel):
    """A new user. ``name`` is split into first and last name; ``role`` is added to ``["user"]``."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{
        "username": "olha_shevchuk", "email": "olha@example.com", "name": "Ольга Шевчук",
        "role": "user", "city": "Полтава", "password": "olha-password"}]})

    username: Username
    email: Email
    name: Name = Field(examples=["Ольга Шевчук"])
    role: UserRole = "user"
    date_of_birth: BirthDate | None = None
    city: City | None = None
    active: bool = True
    password: Password | None = Field(default=None, description="Lets the user call the API with Basic auth")


class UserReplace(BaseModel):
    """PUT: the whole writable user. Omitted optional fields are reset; ``username`` is kept if omitted."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"name": "Іван Петренко", "email": "ivan@example.com", "role": "manager"}]})

    name: Name
    email: Email
    role: UserRole
    username: Username | None = None
    date_of_birth: BirthDate | None = None
    city: City | None = None
    active: bool = True


class UserUpdate(PatchModel):
    """PATCH: only the fields you send change (``date_of_birth`` and ``city`` may be null)."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"email": "new-email@example.com"}]})

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"date_of_birth", "city"})
    name: Name | None = None
    email: Email | None = None
    role: UserRole | None = None
    username: Username | None = None
    date_of_birth: BirthDate | None = None
    city: City | None = None
    active: bool | None = None


class Me(BaseModel):
    """Who the credentials in this request belong to."""

    subject: str = Field(examples=["my_app"])
    auth_method: Literal["api_key", "basic", "bearer"]
    roles: list[str] = Field(examples=[["manager"]])
    scopes: list[str] = Field(examples=[["read", "write"]])
    user: UserPublic | UserPublicV2 | None = Field(description="The user, for Basic authentication")
    token_claims: dict[str, Any] | None = Field(description="The decoded JWT, for Bearer tokens")


# --- products -----------------------------------------------------------------------


class ProductPublic(BaseModel):
    """A product as API version 1 shows it: ``price`` is a number of hryvnias."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": 1, "sku": "EL-001", "title": "Ноутбук Dell XPS 15", "category": "electronics",
         "price": 45000, "in_stock": True}]})

    id: int
    sku: str
    title: str
    category: str
    price: Price
    in_stock: bool


class Money(BaseModel):
    amount: Price = Field(examples=[45000])
    currency: str = Field(examples=["UAH"])


class ProductPublicV2(BaseModel):
    """A product as API version 2 shows it: ``price`` is ``{"amount", "currency"}``."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": 1, "sku": "EL-001", "title": "Ноутбук Dell XPS 15", "category": "electronics",
         "price": {"amount": 45000, "currency": "UAH"}, "in_stock": True}]})

    id: int
    sku: str
    title: str
    category: str
    price: Money
    in_stock: bool


class ProductsPublic(BaseModel):
    data: list[ProductPublic]
    pagination: Pagination


class ProductsPublicV2(BaseModel):
    data: list[ProductPublicV2]
    pagination: Pagination


class ProductCreate(BaseModel):
    """A new product; without ``sku`` the shop assigns ``P-<id>``."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"title": "Навушники Marshall Major IV", "category": "electronics", "price": 4999, "in_stock": True}]})

    title: Title
    category: Category
    price: PriceIn
    in_stock: bool = True
    sku: Sku | None = None


class ProductReplace(BaseModel):
    """PUT: the whole writable product; ``sku`` is kept if omitted."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"title": "Монітор LG 27 inch", "category": "electronics", "price": 11500, "in_stock": True}]})

    title: Title
    category: Category
    price: PriceIn
    in_stock: bool
    sku: Sku | None = None


class ProductUpdate(PatchModel):
    """PATCH: only the fields you send change."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"price": 11500, "in_stock": True}]})

    title: Title | None = None
    category: Category | None = None
    price: PriceIn | None = None
    in_stock: bool | None = None
    sku: Sku | None = None


# --- customers and orders -----------------------------------------------------------


class CustomerPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": 123, "name": "Олександр Коваль", "email": "o.koval@example.com", "phone": "+380501234567",
         "city": "Київ", "created_at": "2022-09-14T10:00:00Z"}]})

    id: int
    name: str
    email: str
    phone: str
    city: str
    created_at: datetime


class CustomersPublic(BaseModel):
    data: list[CustomerPublic]
    pagination: Pagination


ID_TEXT = r"[1-9][0-9]{0,14}"  # an id written as a string: "67890" (ASCII digits, below MAX_ID; never "٢")
PRODUCT_REF = f"^(?:{ID_TEXT}|{SKU.strip('^$')})$"


def _product_ref(value: Any) -> int | str:
    """A product is named by its id (``1`` or ``"1"``) or by its SKU (``"ABC"``)."""
    value = whole_number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_ID:
            raise ValueError(f"id товару має бути від 1 до {MAX_ID}")
        return value
    if not isinstance(value, str):
        raise ValueError("Має бути id товару (число) або його SKU (рядок)")
    if len(value) > 32 or not re.fullmatch(PRODUCT_REF.strip("^$"), value):
        raise ValueError("Має бути id товару (1, \"67890\") або SKU: латинські літери, цифри та '-' (наприклад ABC)")
    return int(value) if re.fullmatch(ID_TEXT, value) else value.upper()


def _id_ref(value: Any) -> int:
    """An id as a number or as a string of digits (the lecture's ``"customer_id": "67890"``)."""
    value = whole_number(value)
    if isinstance(value, str) and re.fullmatch(ID_TEXT, value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValueError(f"Має бути id від 1 до {MAX_ID} (число або рядок цифр)")
    return value


IdRef = Annotated[int, PlainValidator(_id_ref), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ID}, {"type": "string", "pattern": f"^{ID_TEXT}$"}],
    "examples": [67890, "67890"]})]

ProductRef = Annotated[int | str, PlainValidator(_product_ref), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ID},
              {"type": "string", "maxLength": 32, "pattern": PRODUCT_REF}],
    "examples": ["ABC", 1]})]


class OrderItemCreate(BaseModel):
    model_config = Input

    product_id: ProductRef
    quantity: Quantity


class CustomerOrderCreate(BaseModel):
    """A new order of the customer in the URL."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"items": [{"product_id": "ABC", "quantity": 2}, {"product_id": "XYZ", "quantity": 1}]}]})

    items: list[OrderItemCreate] = Field(min_length=1, max_length=50)


class OrderCreate(CustomerOrderCreate):
    """A new order: the lecture's POST /api/orders body (ids may be numbers or strings)."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [
        {"customer_id": "67890", "items": [{"product_id": "ABC", "quantity": 2}, {"product_id": "XYZ", "quantity": 1}]}]})

    customer_id: IdRef


class OrderUpdate(BaseModel):
    """PATCH: move an order along pending → paid → shipped, or cancel it before it ships."""

    model_config = ConfigDict(**Input, json_schema_extra={"examples": [{"status": "paid"}]})

    status: OrderStatus


class OrderItemPublic(BaseModel):
    product_id: int
    sku: str
    title: str
    quantity: int
    unit_price: Price
    line_total: Price


class OrderPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 98765, "customer_id": 67890, "status": "pending",
        "items": [{"product_id": 3, "sku": "ABC", "title": "Бездротова миша Logitech M185", "quantity": 2,
                   "unit_price": 549, "line_total": 1098}],
        "total": 1098, "currency": "UAH", "created_at": "2024-02-08T10:30:00Z", "updated_at": "2024-02-08T10:30:00Z"}]})

    id: int
    customer_id: int
    status: OrderStatus
    items: list[OrderItemPublic]
    total: Price
    currency: str
    created_at: datetime
    updated_at: datetime


class OrdersPublic(BaseModel):
    data: list[OrderPublic]
    pagination: Pagination


# --- weather, OAuth and the sandbox -------------------------------------------------


class Weather(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "city": "Kyiv", "city_uk": "Київ", "temperature_c": -3.5, "feels_like_c": -8.0, "humidity_pct": 81,
        "wind_kph": 14.4, "conditions": "Хмарно, легкий сніг", "observed_at": "2024-02-08T10:30:00Z"}]})

    city: str
    city_uk: str
    temperature_c: float
    feels_like_c: float
    humidity_pct: int
    wind_kph: float
    conditions: str
    observed_at: datetime


class ApiKeyInfo(BaseModel):
    key: str
    name: str
    role: str
    scopes: list[str]
    rate_limit: str = Field(examples=["60 per 60 s"])


class ClientInfo(BaseModel):
    client_id: str
    client_secret: str
    role: str
    scopes: list[str]
    token_ttl_s: int


class UserLogin(BaseModel):
    username: str
    password: str
    roles: list[str]
    active: bool


class Credentials(BaseModel):
    """Every credential of the sandbox (sandbox only: a real API never lists its secrets)."""

    token_url: str = Field(examples=["/oauth/token"])
    api_keys: list[ApiKeyInfo]
    oauth_clients: list[ClientInfo]
    users: list[UserLogin]
    roles: dict[str, list[str]] = Field(description="The scopes each role grants")


class RateLimitConfig(BaseModel):
    """The default rate limit of API keys, clients and users (the demo key keeps its own)."""

    model_config = ConfigDict(extra="forbid", **STRICT, json_schema_extra={"examples": [{"limit": 60, "window_s": 60}]})

    limit: Int = Field(ge=1, le=1_000_000)
    window_s: Int = Field(ge=1, le=3600)
