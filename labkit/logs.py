"""One request's path through every service's JSON log, found by its request id.

Every lab service writes one JSON object a line to ``$LAB_HOME/logs/<service>.log``, each with
the ``request_id`` of the request it served, and passes that id on (``X-Request-ID``) to every
service it calls. So one id finds every line, in every service, that one client call caused:
the lecture's structured logging, followed across services. In a notebook::

    from labkit.logs import request_log
    resp = requests.post(url("shop") + "/api/orders", ...)
    request_log(resp)                 # or request_log("req_3f9a..."): a table, oldest line first

In a terminal: ``lab logs --request-id req_3f9a...``.
"""
from __future__ import annotations

import html
import json
import time
from pathlib import Path

from .config import lab_home
from .ukrainian import count

CORE = ("ts", "service", "level", "message", "request_id", "logger")
HIDDEN = {"logger", "request_id", "trace_id", "span_id", "color_message", "taskName"}


def request_id_of(request) -> str:
    """The id itself, or the ``X-Request-ID`` a ``requests.Response`` (or its request) carries."""
    if isinstance(request, str):
        return request.strip()
    headers = getattr(request, "headers", None) or {}
    rid = headers.get("X-Request-ID") or getattr(getattr(request, "request", None), "headers", {}).get("X-Request-ID")
    if not rid:
        raise ValueError("У відповіді немає заголовка X-Request-ID: передайте сам ідентифікатор, напр. 'req_...'.")
    return rid


def entries(request_id: str, folder: Path | None = None) -> list[dict]:
    """Every JSON log line carrying ``request_id``, from every log file in ``folder``, oldest first."""
    folder = Path(folder) if folder else lab_home() / "logs"
    found = []
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        needle = request_id.encode()
        with open(path, "rb") as fh:
            for raw in fh:
                if needle not in raw:  # cheap before parsing: most lines are other requests'
                    continue
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue  # a broker's own line, a start marker
                if isinstance(entry, dict) and entry.get("request_id") == request_id:
                    entry.setdefault("service", path.stem)
                    found.append(entry)
    return sorted(found, key=lambda e: str(e.get("ts", "")))


def extras(entry: dict) -> dict:
    """The fields a line carries beyond the standard ones: what ``extra=`` gave the logger."""
    return {k: v for k, v in entry.items() if k not in CORE and k not in HIDDEN}


class RequestLog(list):
    """The lines of one request, oldest first; a table in a notebook, plain lines in a terminal."""

    def __init__(self, request_id: str, found: list[dict]) -> None:
        super().__init__(found)
        self.request_id = request_id

    @property
    def services(self) -> list[str]:
        """The services the request passed through, in the order they first logged it."""
        return list(dict.fromkeys(e.get("service", "?") for e in self))

    def lines(self) -> list[str]:
        out = []
        for e in self:
            fields = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in extras(e).items())
            out.append(f"{e.get('ts', '')}  {e.get('service', '?'):<12} {e.get('level', ''):<7} "
                       f"{e.get('message', '')}  {fields}".rstrip())
        return out

    def __repr__(self) -> str:
        if not self:
            return f"No log line carries request id {self.request_id}."
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        esc = html.escape
        if not self:
            return (f"<i>Жоден рядок логів не містить request_id <code>{esc(self.request_id)}</code>: "
                    "перевірте ідентифікатор (заголовок X-Request-ID відповіді).</i>")
        rows = []
        for e in self:
            colour = {"ERROR": "#cf222e", "WARNING": "#bf8700"}.get(str(e.get("level")), "inherit")
            fields = "<br>".join(f"<b>{esc(k)}</b>=<code>{esc(json.dumps(v, ensure_ascii=False))}</code>"
                                 for k, v in extras(e).items())
            rows.append(f"<tr><td><code>{esc(str(e.get('ts', ''))[11:23])}</code></td>"
                        f"<td><b>{esc(str(e.get('service', '')))}</b></td>"
                        f"<td style='color:{colour}'>{esc(str(e.get('level', '')))}</td>"
                        f"<td>{esc(str(e.get('message', '')))}</td><td style='font-size:90%'>{fields}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in ("час (UTC)", "сервіс", "рівень", "повідомлення", "поля"))
        return (f"<div><b>request_id</b> <code>{esc(self.request_id)}</code>: {count(len(self), 'рядок', 'рядки', 'рядків')}, сервіси: "
                f"{esc(' → '.join(self.services))}</div><table>{head}{''.join(rows)}</table>")


def request_log(request, folder: Path | None = None, wait: float = 1.0) -> RequestLog:
    """Every service's log lines for one request (an id or a ``requests.Response``), oldest first.

    Waits up to ``wait`` seconds for the lines to settle: a service writes its access line as the
    answer leaves, a moment after the client has it.
    """
    rid = request_id_of(request)
    deadline = time.monotonic() + wait
    found = entries(rid, folder)
    while time.monotonic() < deadline:
        time.sleep(0.15)
        again = entries(rid, folder)
        if again and len(again) == len(found):
            break
        found = again
    return RequestLog(rid, found)
