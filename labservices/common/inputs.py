"""Request models that accept exactly what their OpenAPI schema says, no more.

Pydantic's lax mode turns ``0`` into ``false``, ``true`` into ``1`` and ``"5"`` into ``5``, and a
PATCH model whose fields default to ``None`` documents ``null`` for every field. A client reading
/docs cannot know either. ``STRICT`` makes a model's booleans and numbers take only JSON booleans
and numbers; :class:`PatchModel` refuses ``null`` for the fields that are not nullable and says so
in its schema; :data:`IsoDate` takes a date only as ``YYYY-MM-DD``.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

# Formats are written once, as patterns, and both validate and document a field: what /docs shows is what
# is accepted. Character classes are spelled out in ASCII, so Python and JSON Schema (ECMA) agree on them.
EMAIL = r"^[!-?A-~]+@[!-?A-~]+\.[!-\-/-?A-~]+$"  # printable ASCII; a dot in the domain; no @ or spaces

STRICT = ConfigDict(strict=True)  # merged into a service's input config: ConfigDict(**Input, **STRICT)
SPACES = " \t\n\r"


def whole_number(value: Any) -> Any:
    """5000.0 → 5000: JSON Schema counts a number with no fraction as an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**63 else value


# An integer field of a strict model: 5000 and 5000.0 (JSON Schema's integers both), never true or "5000".
# Give its bounds with ``Field`` as the default (``x: Int = Field(ge=1)``); inside another Annotated
# they would not reach the JSON schema (``Annotated[int, Field(ge=1), BeforeValidator(whole_number)]`` does).
Int = Annotated[int, BeforeValidator(whole_number)]


def trimmed(max_length: int, min_length: int = 1) -> Any:
    """Text stored without surrounding spaces; when required, it must have more than spaces (as /docs says)."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length,
                                            pattern=f"[^{SPACES}]" if min_length else None),
                     AfterValidator(lambda text: text.strip(SPACES))]


def matches(pattern: str, message: str) -> AfterValidator:
    """A validator that holds text to ``pattern`` (anchored), failing with ``message`` (Ukrainian)."""
    def check(value: str) -> str:
        if not re.fullmatch(pattern.strip("^$"), value):
            raise ValueError(message)
        return value
    return AfterValidator(check)


# An email as the lab's services take it: the pattern above, kept in lower case.
Email = Annotated[str, StringConstraints(min_length=3, max_length=254),
                  matches(EMAIL, "Невірний формат email адреси"), AfterValidator(str.lower),
                  Field(examples=["ivan@example.com"], json_schema_extra={"pattern": EMAIL})]


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)):
        return value if isinstance(value, date) else date.fromisoformat(value)
    raise ValueError("Має бути датою у форматі РРРР-ММ-ДД")


# A strict model's date field: only "2024-02-08" (not 0, not a Unix time, not a date and time).
IsoDate = Annotated[date, BeforeValidator(_iso_date), Field(strict=False)]


class PatchModel(BaseModel):
    """A PATCH body: a field may be left out; only the fields in ``NULLABLE`` may be sent as null."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _reject_null(cls, value: Any, info) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("Не може бути null; пропустіть поле, щоб не змінювати його")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler) -> dict[str, Any]:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            if name in cls.NULLABLE or "anyOf" not in prop:
                continue
            kept = [s for s in prop.pop("anyOf") if s.get("type") != "null"]
            if prop.get("default", ...) is None:
                del prop["default"]
            if len(kept) == 1:
                prop.update({k: v for k, v in kept[0].items() if k not in prop})
            else:
                prop["anyOf"] = kept
        return schema
