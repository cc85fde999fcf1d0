"""Headless Chromium driven over the DevTools protocol: open a page, run JavaScript in it, wait, screenshot.

Debian's ``chromium`` and the ``websocket-client`` that Jupyter Server already depends on are
all it takes (no Playwright, no browser download). JavaScript runs in the page itself, so a
``button.click()`` goes through the page's own event handlers as a student's click does.
"""
from __future__ import annotations

import base64
import itertools
import json
import shutil
import time
from pathlib import Path

import requests

from labkit.procs import spawn, terminate, wait_until

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-allow-origins=*"]


class BrowserError(AssertionError):
    pass


class Chromium:
    """One headless Chromium with one tab; use as a context manager."""

    def __init__(self, home: Path, width: int = 1280, height: int = 900) -> None:
        import websocket

        if CHROMIUM is None:
            raise BrowserError("Chromium is not installed (apt-get install chromium)")
        self.home = Path(home)
        profile = self.home / "chromium"
        profile.mkdir(parents=True, exist_ok=True)
        port_file = profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.proc = spawn([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                           f"--window-size={width},{height}", "about:blank"], log_path=self.home / "chromium.log")
        if not wait_until(lambda: port_file.exists() and port_file.read_text().strip(), timeout=30,
                          while_alive=self.proc.pid):
            raise BrowserError("Chromium did not start: " + (self.home / "chromium.log").read_text()[-2000:])
        port = int(port_file.read_text().split()[0])
        tabs = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in tabs if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.send("Page.enable")
        self.send("Runtime.enable")

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            terminate(self.proc.pid, timeout=10)

    def send(self, method: str, **params) -> dict:
        """Call one DevTools method and return its result (events that arrive meanwhile are dropped)."""
        call = next(self.ids)
        self.ws.send(json.dumps({"id": call, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def goto(self, url: str, timeout: float = 30) -> None:
        self.send("Page.navigate", url=url)
        time.sleep(0.2)
        self.wait("document.readyState === 'complete'", timeout, what=f"{url} to load")

    def eval(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 30, what: str = "") -> object:
        """Wait until a JavaScript expression is truthy in the page; its value."""
        deadline = time.monotonic() + timeout
        probe = f"(() => {{ const v = ({expression}); return v instanceof Node ? true : v; }})()"  # elements: found
        while True:
            value = self.eval(probe)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"waited {timeout:.0f} s for {what or expression}; the page shows: "
                                   f"{(self.eval('document.body && document.body.innerText') or '')[:1500]}")
            time.sleep(0.25)

    def screenshot(self, path: Path, width: int = 1280, height: int = 900, full: bool = True, scale: float = 1.0) -> Path:
        """A PNG of the page: the whole page when ``full``, else its top ``width`` x ``height``, scaled by ``scale``."""
        if full:
            height = int(self.eval("Math.ceil(document.documentElement.scrollHeight)") or height)
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
        data = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=full)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)
