"""Per-request context (the request id) shared by the middleware, the logs and the errors."""
from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def new_request_id() -> str:
    """A fresh id in the lecture's style: ``req_`` and 12 hex digits."""
    return f"req_{secrets.token_hex(6)}"


def accept_request_id(incoming: str | None) -> str:
    """Keep a client's ``X-Request-ID`` when it is short and plain, otherwise make one."""
    if incoming and _SAFE_ID.match(incoming):
        return incoming
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()

# Which lab service the running code belongs to. The host sets it once in each service's serving
# task; every request, worker and thread started from there inherits it, so one process can keep
# one log stream per service.
service_var: ContextVar[str | None] = ContextVar("lab_service", default=None)


def current_service() -> str | None:
    return service_var.get()
