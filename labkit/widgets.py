"""Widgets and displays the notebooks use: the HTTP request explorer and a response viewer.

``explorer()`` is a small Postman inside the notebook: choose a method and path, add
headers and a JSON body, press «Надіслати», and read the status, headers, pretty JSON
and time. ``show(resp)`` draws any ``requests.Response`` the same way.
"""
from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from .config import url as service_url

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
HIDDEN_HEADERS = {"date", "server", "content-length", "connection"}


@dataclass
class Exchange:
    """One request and what came back (or why nothing did)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    elapsed_ms: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400


def parse_headers(text: str) -> dict[str, str]:
    """``"Name: value"`` lines to a dict; raises ValueError naming a bad line."""
    headers = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if ":" not in line:
            raise ValueError(f"header line {n} has no ':' — write it as 'Name: value'")
        name, value = line.split(":", 1)
        headers[name.strip()] = value.strip()
    return headers


def _decode(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    if "json" in resp.headers.get("content-type", ""):
        try:
            return resp.json()
        except ValueError:
            pass
    return resp.text


def from_response(resp: requests.Response) -> Exchange:
    req = resp.request
    body = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else req.body
    return Exchange(
        method=req.method or "", url=req.url or "", request_headers=dict(req.headers), request_body=body,
        status=resp.status_code, reason=resp.reason or "", headers=CaseInsensitiveDict(resp.headers), body=_decode(resp),
        elapsed_ms=resp.elapsed.total_seconds() * 1000,
    )


def send(method: str, url: str, headers: dict[str, str] | None = None, body: str | None = None,
         timeout: float = 10.0) -> Exchange:
    """Send one request; a network failure or bad JSON becomes ``Exchange.error``, never an exception."""
    headers = dict(headers or {})
    ex = Exchange(method=method, url=url, request_headers=headers, request_body=body or None)
    data = None
    if body and body.strip():
        try:
            json.loads(body)
        except ValueError as exc:
            ex.error = f"Тіло запиту — некоректний JSON: {exc}"
            return ex
        data = body.encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    started = time.perf_counter()
    try:
        resp = requests.request(method, url, headers=headers, data=data, timeout=timeout)
    except requests.ConnectionError:
        ex.error = f"Сервіс не відповідає на {url}. Чи запущено стек? Перевірте `lab status` у терміналі."
    except requests.Timeout:
        ex.error = f"Сервіс не відповів за {timeout:.0f} с."
    except requests.RequestException as exc:
        ex.error = f"Запит не дійшов: {exc.__class__.__name__}: {exc}"
    if ex.error:
        ex.elapsed_ms = (time.perf_counter() - started) * 1000
        return ex
    done = from_response(resp)
    done.request_headers, done.request_body = headers, ex.request_body
    done.elapsed_ms = (time.perf_counter() - started) * 1000
    return done


def _status_colour(status: int | None) -> str:
    if status is None:
        return "#888"
    return {2: "#1a7f37", 3: "#0969da", 4: "#bf8700", 5: "#cf222e"}.get(status // 100, "#888")


def render_html(ex: Exchange, show_all_headers: bool = False) -> str:
    """The exchange as HTML: a status line, the response headers, the pretty JSON body."""
    esc = html.escape
    head = f"<code>{esc(ex.method)} {esc(ex.url)}</code>"
    if ex.error:
        return f"<div>{head}<div style='color:#cf222e;font-weight:bold'>{esc(ex.error)}</div></div>"
    colour = _status_colour(ex.status)
    status = (f"<span style='background:{colour};color:white;padding:1px 8px;border-radius:8px;"
              f"font-weight:bold'>{ex.status} {esc(ex.reason)}</span> <span style='color:#666'>"
              f"{ex.elapsed_ms:.0f} ms</span>")
    rows = "".join(
        f"<tr><td style='text-align:left'><b>{esc(k)}</b></td><td style='text-align:left'>{esc(v)}</td></tr>"
        for k, v in ex.headers.items() if show_all_headers or k.lower() not in HIDDEN_HEADERS
    )
    if ex.body is None:
        body = "<i style='color:#666'>(порожнє тіло)</i>"
    else:
        text = ex.body if isinstance(ex.body, str) else json.dumps(ex.body, ensure_ascii=False, indent=2)
        if len(text) > 20000:
            text = text[:20000] + "\n… (обрізано)"
        body = f"<pre style='max-height:400px;overflow:auto;background:#f6f8fa;padding:6px'>{esc(text)}</pre>"
    return (f"<div>{head}<br>{status}<details style='margin-top:4px'><summary>Заголовки відповіді "
            f"({len(ex.headers)})</summary><table>{rows}</table></details>{body}</div>")


def render_text(ex: Exchange) -> str:
    lines = [f"{ex.method} {ex.url}"]
    if ex.error:
        return "\n".join(lines + [ex.error])
    lines.append(f"→ {ex.status} {ex.reason} ({ex.elapsed_ms:.0f} ms)")
    lines += [f"  {k}: {v}" for k, v in ex.headers.items() if k.lower() not in HIDDEN_HEADERS]
    if ex.body is not None:
        lines.append(ex.body if isinstance(ex.body, str) else json.dumps(ex.body, ensure_ascii=False, indent=2))
    return "\n".join(lines)


class ResponseView:
    """Rich display of one exchange: HTML in Jupyter, text in a terminal."""

    def __init__(self, ex: Exchange) -> None:
        self.exchange = ex

    def _repr_html_(self) -> str:
        return render_html(self.exchange)

    def __repr__(self) -> str:
        return render_text(self.exchange)


def show(resp: requests.Response) -> ResponseView:
    """Display a ``requests.Response``: status, time, headers, pretty JSON."""
    return ResponseView(from_response(resp))


class RequestExplorer:
    """The widget behind :func:`explorer`; ``send()`` works without a browser too (tests use it)."""

    def __init__(self, service: str = "shop", method: str = "GET", path: str = "/api/products",
                 headers: dict[str, str] | None = None, body: Any = None) -> None:
        import ipywidgets as w

        self.history: list[Exchange] = []
        self.method = w.Dropdown(options=METHODS, value=method, layout=w.Layout(width="110px"))
        self.base = w.Text(value=service_url(service), layout=w.Layout(width="210px"))
        self.path = w.Text(value=path, placeholder="/api/...", layout=w.Layout(width="360px"))
        self.headers = w.Textarea(
            value="\n".join(f"{k}: {v}" for k, v in (headers or {}).items()),
            placeholder="X-API-Key: abc123def456\nAccept: application/json",
            description="Заголовки", layout=w.Layout(width="690px", height="70px"))
        body_text = body if isinstance(body, str) or body is None else json.dumps(body, ensure_ascii=False, indent=2)
        self.body = w.Textarea(value=body_text or "", placeholder='{"title": "..."}', description="Тіло (JSON)",
                               layout=w.Layout(width="690px", height="90px"))
        self.button = w.Button(description="Надіслати", button_style="primary", icon="paper-plane")
        self.result = w.HTML()
        self.log = w.HTML()
        self.button.on_click(lambda _b: self.send())
        self.widget = w.VBox([
            w.HBox([self.method, self.base, self.path, self.button]),
            self.headers, self.body, self.result,
            w.HTML("<b>Історія</b>"), self.log,
        ])

    def send(self) -> Exchange:
        try:
            headers = parse_headers(self.headers.value)
        except ValueError as exc:
            ex = Exchange(self.method.value, self.base.value + self.path.value, {}, None, error=str(exc))
        else:
            ex = send(self.method.value, self.base.value.rstrip("/") + self.path.value, headers, self.body.value)
        self.history.append(ex)
        self.result.value = render_html(ex)
        self.log.value = "<br>".join(
            f"<code><span style='color:{_status_colour(e.status)}'>{e.status or '—'}</span> "
            f"{html.escape(e.method)} {html.escape(e.url)}</code> {e.elapsed_ms:.0f} ms"
            for e in reversed(self.history[-10:])
        )
        return ex

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def explorer(service: str = "shop", method: str = "GET", path: str = "/api/products",
             headers: dict[str, str] | None = None, body: Any = None) -> RequestExplorer:
    """An HTTP request explorer for a lab service: method, path, headers, body → status, headers, JSON, time."""
    return RequestExplorer(service, method, path, headers, body)
