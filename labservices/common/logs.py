"""JSON structured logs, one object a line, each carrying the service and the request id.

Many services share one host process, so a line names its service from the context
(``service_var``, set by the host in each service's task) and the routing handler writes
it to that service's own file: ``lab logs orders`` shows only orders.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path
from typing import IO

from .clock import iso
from .context import current_request_id, current_service

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
HOST_STREAM = "host"  # lines that belong to no service: the host's own


def service_of(record: logging.LogRecord, default: str | None = None) -> str:
    """The service a record belongs to: named in ``extra=``, else the running context, else ``default``."""
    return getattr(record, "service", None) or current_service() or default or HOST_STREAM


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; ``extra=`` fields become keys, as in the lecture."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": iso(record.created, ms=True),
            "level": record.levelname,
            "service": service_of(record, self.service),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RoutingHandler(logging.Handler):
    """Writes each record to ``<folder>/<service>.log``; lines of no service go to ``host.log``."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[str]] = {}
        self._files_lock = threading.Lock()

    def _file(self, service: str) -> IO[str]:
        with self._files_lock:
            fh = self._files.get(service)
            if fh is None:
                safe = "".join(c for c in service if c.isalnum() or c in "-_") or HOST_STREAM
                fh = self._files[service] = open(self.folder / f"{safe}.log", "a", buffering=1, encoding="utf-8")
            return fh

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self._file(service_of(record)).write(line + "\n")
        except Exception:  # noqa: BLE001 - logging must never take a service down
            self.handleError(record)

    def close(self) -> None:
        with self._files_lock:
            for fh in self._files.values():
                fh.close()
            self._files.clear()
        super().close()


def configure_logging(folder: Path | None = None, level: str = "INFO", service: str | None = None) -> None:
    """JSON lines for the root logger (and uvicorn's): one file per service in ``folder``, else stderr."""
    # The logging HOWTO's "Optimization": a line never shows the caller's file and line, thread or
    # process, so the logging module need not look them up for every record (an access line each request).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler: logging.Handler = RoutingHandler(folder) if folder else logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # The metrics middleware writes one access line per request itself, with the request id.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the outgoing client logs its own line per call
