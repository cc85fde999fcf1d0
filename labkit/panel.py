"""The chaos panel: break any of notebook 05's services from a widget, watch them all, and put everything back.

    from labkit.panel import chaos_panel, health, restore
    chaos_panel()       # a service dropdown, latency and error-rate sliders, down, stop and start buttons
    health()            # every service now: answering /health (how fast), and its chaos switches
    restore()           # chaos off, breakers closed and on, every stopped service started
"""
from __future__ import annotations

import html
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from .config import url
from .micro import MICROSERVICES, Rows


def health(services: list[str] = MICROSERVICES) -> Rows:
    """Each service now: answers /health (and how fast), what the registry says of it, its chaos switches."""
    try:
        listed = {i["instance_id"]: i["status"] for found in requests.get(f"{url('registry')}/api/services",
                                                                          timeout=2).json().values() for i in found}
    except (requests.RequestException, ValueError, AttributeError):
        listed = {}

    def one(name: str) -> dict:
        row = {"service": name, "health": "—", "ms": "", "registry": listed.get(name, "—"), "chaos": ""}
        try:
            started = time.perf_counter()
            resp = requests.get(f"{url(name)}/health", timeout=3)
            row.update(health="up" if resp.status_code == 200 else "down",
                       ms=round((time.perf_counter() - started) * 1000))
            row["chaos"] = _chaos_text(requests.get(f"{url(name)}/admin/chaos", timeout=2).json())
        except requests.ConnectionError:
            row["health"] = "stopped"
        except requests.RequestException as exc:
            row["health"] = f"no answer ({type(exc).__name__})"
        return row

    with ThreadPoolExecutor(8) as pool:
        return Rows(list(pool.map(one, services)), "Стан сервісів")


def _chaos_text(chaos: dict) -> str:
    """The switches that are on, e.g. "latency_ms=3000, error_rate=0.5 (503)"; "" when none."""
    parts = [f"{k}={chaos[k]}" for k in ("latency_ms", "jitter_ms") if chaos.get(k)]
    if chaos.get("error_rate"):
        parts.append(f"error_rate={chaos['error_rate']} ({chaos.get('error_status')})")
    if chaos.get("down"):
        parts.append("down")
    return ", ".join(parts)


def restore(services: list[str] = MICROSERVICES) -> list[str]:
    """Start what is stopped, switch chaos off, close and switch on every breaker; what was changed."""
    from .stack import Stack

    stack, changed = Stack(), []
    stopped = {s.name for s in stack.status() if s.kind == "service" and s.state == "stopped"}
    for name in services:
        if name in stopped:
            stack.start(name)
            changed.append(f"{name}: started")
        if _chaos_text(requests.get(f"{url(name)}/admin/chaos", timeout=5).json()):
            stack.chaos(name)
            changed.append(f"{name}: chaos off")
    for name in ("orders", "gateway"):
        for b in requests.get(f"{url(name)}/admin/breakers", timeout=5).json():
            if not b["enabled"] or b["state"] != "closed":
                requests.put(f"{url(name)}/admin/breakers/{b['name']}", json={"enabled": True}, timeout=5)
                requests.post(f"{url(name)}/admin/breakers/{b['name']}/reset", timeout=5)
                changed.append(f"{name}: breaker {b['name']} closed")
    return changed


TILE_COLOURS = {"up": "#dafbe1", "down": "#ffebe9", "stopped": "#eaeef2"}


def tiles(rows: Rows) -> str:
    """Every service as a small tile: green answering, red failing, grey stopped; its chaos under its name."""
    out = []
    for r in rows:
        colour = TILE_COLOURS.get(r["health"], "#fff8c5")
        listed = f" · реєстр: {r['registry']}" if r["registry"] != "—" else ""
        out.append(f"<div style='background:{colour};border-radius:4px;padding:4px 8px;margin:3px;min-width:150px'>"
                   f"<b>{html.escape(r['service'])}</b> {html.escape(str(r['health']))} "
                   f"<small>{r['ms']}{' мс' if r['ms'] != '' else ''}{html.escape(listed)}</small>"
                   + (f"<br><small style='color:#cf222e'>{html.escape(r['chaos'])}</small>" if r["chaos"] else "")
                   + "</div>")
    return f"<div style='display:flex;flex-wrap:wrap;font-size:90%'>{''.join(out)}</div>"


class ChaosPanel:
    """ipywidgets: pick a service; slow it down, make it fail, take it down, stop or start it; watch every service."""

    def __init__(self, services: list[str] = MICROSERVICES, seconds: float = 600.0) -> None:
        import ipywidgets as w

        self.services, self.seconds = services, seconds
        wide = {"style": {"description_width": "initial"}}
        self.service = w.Dropdown(options=services, value="catalog", description="сервіс", **wide)
        self.latency = w.IntSlider(0, min=0, max=5000, step=100, description="затримка, мс", **wide)
        self.error_rate = w.FloatSlider(0.0, min=0.0, max=1.0, step=0.1, description="частка помилок 503", **wide)
        self.down = w.Checkbox(False, description="down: 503 на все, /health теж", indent=False, **wide)
        self.apply = w.Button(description="Застосувати", button_style="warning")
        self.calm = w.Button(description="Вимкнути хаос")
        self.stop_button = w.Button(description="Зупинити", button_style="danger")
        self.start_button = w.Button(description="Запустити", button_style="success")
        self.everything = w.Button(description="Відновити все")
        self.message = w.HTML()
        self.status = w.HTML()
        for button, action in ((self.apply, self._apply), (self.calm, self._calm), (self.stop_button, self._stop),
                               (self.start_button, self._start), (self.everything, self._restore)):
            button.on_click(lambda _b, act=action: self._do(act))
        self.box = w.VBox([w.HBox([self.service, self.down]), w.HBox([self.latency, self.error_rate]),
                           w.HBox([self.apply, self.calm, self.stop_button, self.start_button, self.everything]),
                           self.message, self.status])
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="chaos-panel", daemon=True)

    def _do(self, action) -> None:
        from .errors import StackError

        self.message.value = "<i>виконую…</i>"
        try:
            self.message.value = html.escape(action())
        except (StackError, requests.RequestException) as exc:
            self.message.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"
        self.refresh()

    def _apply(self) -> str:
        from .control import chaos

        switches = {"latency_ms": self.latency.value, "error_rate": self.error_rate.value, "error_status": 503,
                    "down": self.down.value}
        now = chaos(self.service.value, **switches)
        return f"{self.service.value}: {now}"

    def _calm(self) -> str:
        from .control import chaos

        chaos(self.service.value)
        self._zero()
        return f"{self.service.value}: хаос вимкнено"

    def _zero(self) -> None:
        self.latency.value, self.error_rate.value, self.down.value = 0, 0.0, False

    def _stop(self) -> str:
        from .control import stop

        return f"{self.service.value}: {stop(self.service.value)['state']}"

    def _start(self) -> str:
        from .control import start

        return f"{self.service.value}: {start(self.service.value)['state']}"

    def _restore(self) -> str:
        self._zero()
        return "; ".join(restore(self.services)) or "усе вже гаразд"

    def refresh(self) -> None:
        self.status.value = tiles(health(self.services))

    def _watch(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self._stopped.wait(2.0) and time.monotonic() < deadline:
            self.refresh()

    def close(self) -> None:
        self._stopped.set()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


def chaos_panel(services: list[str] = MICROSERVICES, seconds: float = 600.0) -> ChaosPanel:
    """A panel to break any service and watch them all (the status refreshes every 2 s for ``seconds``)."""
    panel = ChaosPanel(services, seconds)
    panel.refresh()
    panel.thread.start()
    return panel
