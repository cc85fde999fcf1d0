"""The lecture's error envelope, for every error a service returns.

Every failure leaves a service as::

    {"error": {"code": "VALIDATION_ERROR", "message": "...",
               "details": [{"field": "email", "message": "..."}],
               "request_id": "req_abc123", "timestamp": "2024-02-08T10:30:45Z"}}

or, when the client's ``Accept`` asks for ``application/problem+json``, as an
RFC 9457 problem document carrying the same facts. Both bodies are built from the pydantic
models below (:class:`ErrorEnvelope`, :class:`Problem`), and the OpenAPI document of every
service describes its errors with the JSON schemas of the same models
(``labservices.common.openapi``), so what /docs shows cannot drift from what is sent.
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

from .clock import now_iso
from .context import current_request_id

log = logging.getLogger("labservices.errors")

# The code each status gets when the raiser does not name one.
DEFAULT_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    428: "PRECONDITION_REQUIRED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

# Ukrainian messages, as in the lecture's example envelope.
DEFAULT_MESSAGES: dict[int, str] = {
    400: "Некоректний запит",
    401: "Потрібна автентифікація",
    403: "Недостатньо прав для цієї операції",
    404: "Ресурс не знайдено",
    405: "Метод не підтримується для цього ресурсу",
    406: "Неможливо віддати відповідь у запитаному форматі",
    409: "Конфлікт зі станом ресурсу",
    412: "Ресурс змінився з часу вашого читання",
    413: "Тіло запиту завелике",
    415: "Непідтримуваний Content-Type",
    428: "Потрібен заголовок If-Match",
    429: "Забагато запитів, спробуйте пізніше",
    500: "Внутрішня помилка сервера",
    502: "Помилка вищого сервісу",
    503: "Сервіс тимчасово недоступний",
    504: "Вищий сервіс не відповів вчасно",
}

PROBLEM_JSON = "application/problem+json"
UNPARSABLE_BODY = "There was an error parsing the body"  # FastAPI's HTTPException detail


class ApiError(Exception):
    """An error a handler raises to answer with the envelope.

    ``details`` is a list of ``{"field": ..., "message": ...}``; ``headers`` go on
    the response (``WWW-Authenticate``, ``Retry-After``, ``Allow``...).
    """

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, f"HTTP_{status}")
        self.message = message or DEFAULT_MESSAGES.get(status) or _phrase(status)
        self.details = details or []
        self.headers = headers or {}
        super().__init__(f"{self.status} {self.code}: {self.message}")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def wants_problem_json(accept: str | None) -> bool:
    """True when the client's ``Accept`` names RFC 9457's media type."""
    return bool(accept) and PROBLEM_JSON in accept.lower()


# --- the bodies, as models (their JSON schemas are what /docs shows) -------------------

Optional = SkipJsonSchema[None]  # left out of the body when unset, never sent as null


class ErrorDetail(BaseModel):
    """One thing wrong with the request: which field, and what is wrong with it."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"field": "email", "message": "Невірний формат email адреси", "location": "body", "type": "value_error"}]})

    field: str = Field(description="The field, e.g. `email`, `items[0].qty`, `Content-Type`")
    message: str = Field(description="What is wrong, in Ukrainian")
    location: str | Optional = Field(None, description="Where the field is: body, query, path, header or cookie")
    type: str | Optional = Field(None, description="Machine-readable kind of the failure, e.g. `missing`")


class ErrorBody(BaseModel):
    """The lecture's error object."""

    code: str = Field(description="Machine-readable code, e.g. VALIDATION_ERROR, NOT_FOUND, RATE_LIMITED",
                      examples=["VALIDATION_ERROR"])
    message: str = Field(description="What went wrong, for a person (Ukrainian)", examples=["Некоректні дані запиту"])
    details: list[ErrorDetail] = Field(description="One entry per field at fault; empty when none is")
    request_id: str | None = Field(description="The request's X-Request-ID: find it in the service's log",
                                   examples=["req_abc123"])
    timestamp: str = Field(description="When the error happened (UTC, ISO 8601)", examples=["2024-02-08T10:30:45Z"])


class ErrorEnvelope(BaseModel):
    """Every error a lab service answers, unless the client asks for application/problem+json."""

    error: ErrorBody


class Problem(BaseModel):
    """The same facts as an RFC 9457 problem document (sent for `Accept: application/problem+json`)."""

    type: str = Field(description="Always about:blank: the status says what kind of problem it is")
    title: str = Field(description="The status's reason phrase", examples=["Bad Request"])
    status: int = Field(description="The HTTP status code", examples=[400])
    detail: str = Field(description="What went wrong (the envelope's message)")
    instance: str = Field(description="The request's path")
    code: str = Field(description="The envelope's code")
    errors: list[ErrorDetail] = Field(description="The envelope's details")
    request_id: str | None
    timestamp: str


def _details(details: list[dict[str, Any]] | None) -> list[ErrorDetail]:
    return [ErrorDetail(**{**d, "field": str(d.get("field", "")), "message": str(d.get("message", ""))})
            for d in details or []]


def envelope(
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The lecture's ``{"error": {...}}`` body."""
    body = ErrorBody(code=code, message=message, details=_details(details),
                     request_id=request_id or current_request_id(), timestamp=now_iso())
    return ErrorEnvelope(error=body).model_dump(exclude_unset=True)


def problem(
    status: int, code: str, message: str, details: list[dict[str, Any]], instance: str
) -> dict[str, Any]:
    """The same facts as an RFC 9457 problem document."""
    return Problem(type="about:blank", title=_phrase(status), status=status, detail=message, instance=instance,
                   code=code, errors=_details(details), request_id=current_request_id(),
                   timestamp=now_iso()).model_dump(exclude_unset=True)


def error_body(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    *,
    accept: str | None = None,
    path: str = "",
) -> tuple[bytes, str]:
    """Serialized error body and its media type, chosen by the client's ``Accept``."""
    details = details or []
    if wants_problem_json(accept):
        body, media = problem(status, code, message, details, path), PROBLEM_JSON
    else:
        body, media = envelope(code, message, details), "application/json"
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), media


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    content, media = error_body(
        status, code, message, details, accept=request.headers.get("accept"), path=request.url.path
    )
    return Response(content=content, status_code=status, media_type=media, headers=headers)


# --- translating validation errors -------------------------------------------------

_MESSAGES: dict[str, str] = {
    "missing": "Обов'язкове поле",
    "extra_forbidden": "Невідоме поле",
    "string_type": "Має бути рядком",
    "int_type": "Має бути цілим числом",
    "int_parsing": "Має бути цілим числом",
    "int_from_float": "Має бути цілим числом",
    "float_type": "Має бути числом",
    "float_parsing": "Має бути числом",
    "bool_type": "Має бути true або false",
    "bool_parsing": "Має бути true або false",
    "list_type": "Має бути масивом",
    "dict_type": "Має бути об'єктом",
    "model_type": "Має бути об'єктом",
    "model_attributes_type": "Має бути об'єктом",
    "date_type": "Має бути датою у форматі РРРР-ММ-ДД",
    "date_parsing": "Має бути датою у форматі РРРР-ММ-ДД",
    "date_from_datetime_parsing": "Має бути датою у форматі РРРР-ММ-ДД",
    "datetime_type": "Має бути датою й часом ISO 8601",
    "datetime_parsing": "Має бути датою й часом ISO 8601",
    "datetime_from_date_parsing": "Має бути датою й часом ISO 8601",
    "json_invalid": "Некоректний JSON",
    "json_type": "Некоректний JSON",
    "string_too_short": "Рядок закороткий (мінімум {min_length})",
    "string_too_long": "Рядок задовгий (максимум {max_length})",
    "too_short": "Замало елементів (мінімум {min_length})",
    "too_long": "Забагато елементів (максимум {max_length})",
    "greater_than": "Має бути більше {gt}",
    "greater_than_equal": "Має бути не менше {ge}",
    "less_than": "Має бути менше {lt}",
    "less_than_equal": "Має бути не більше {le}",
    "literal_error": "Допустимі значення: {expected}",
    "enum": "Допустимі значення: {expected}",
    "string_pattern_mismatch": "Не відповідає формату",
    "url_parsing": "Некоректна URL-адреса",
    "url_type": "Некоректна URL-адреса",
    "finite_number": "Має бути скінченним числом",
}

_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _field_name(loc: tuple[Any, ...]) -> tuple[str, str | None]:
    """``("body", "items", 0, "qty")`` → ``("items[0].qty", "body")``."""
    where = loc[0] if loc and loc[0] in _LOCATIONS else None
    parts = loc[1:] if where else loc
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + str(part)
    return name or (where or "body"), where


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One ``{"field", "message", "location", "type"}`` entry per failing field."""
    details = []
    for err in errors:
        kind = err.get("type", "")
        loc = tuple(err.get("loc", ()))
        # A JSON syntax error's loc ends in a character offset, not a field.
        field, where = ("body", "body") if kind == "json_invalid" else _field_name(loc)
        template = _MESSAGES.get(kind)
        ctx = err.get("ctx") or {}
        if template:
            try:
                message = template.format(**ctx)
            except (KeyError, IndexError):
                message = template
        else:
            message = err.get("msg", "Некоректне значення")
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
        if kind == "json_invalid" and ctx.get("error"):
            message = f"Некоректний JSON: {ctx['error']}"
        entry = {"field": field, "message": message, "type": kind}
        if where:
            entry["location"] = where
        details.append(entry)
    return details


# --- handlers ---------------------------------------------------------------------


async def _api_error(request: Request, exc: ApiError) -> Response:
    return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    details = validation_details(list(exc.errors()))
    return error_response(request, 400, "VALIDATION_ERROR", "Некоректні дані запиту", details)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    code = DEFAULT_CODES.get(status, f"HTTP_{status}")
    message = DEFAULT_MESSAGES.get(status) or _phrase(status)
    details = None
    if isinstance(exc.detail, str) and exc.detail and exc.detail != _phrase(status):
        message = exc.detail
    if status == 400 and exc.detail == UNPARSABLE_BODY:  # FastAPI's words for a body json.loads gave up on
        code, message = "VALIDATION_ERROR", "Некоректні дані запиту"
        details = [{"field": "body", "message": "Тіло запиту не вдалося розібрати: це не JSON у UTF-8, "
                    "або він вкладений глибше, ніж можна прочитати", "location": "body", "type": "json_invalid"}]
    headers = dict(exc.headers or {})
    if status == 405:
        # Starlette names only the first route that matched the path; list every method.
        from .middleware.head_options import allowed_methods

        allow = allowed_methods(request.scope)
        if allow:
            headers["Allow"] = ", ".join(allow)
    return error_response(request, status, code, message, details, headers)


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return error_response(request, 500, "INTERNAL_ERROR", DEFAULT_MESSAGES[500])


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through the envelope."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error statuses an operation answers besides the usual.

    Only the description is given here: ``labservices.common.openapi`` gives every error
    response of every operation its body schemas (the envelope and problem+json), and adds
    the statuses every service shares (400 for bad input, 401 where a caller is needed, 413
    where a body is read), so a route names only what is its own: 404, 409, 412...
    """
    return {s: {"description": DEFAULT_MESSAGES.get(s, _phrase(s))} for s in statuses}
