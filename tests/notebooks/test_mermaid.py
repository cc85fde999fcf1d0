"""JupyterLab 4 draws every mermaid diagram of the notebooks: each notebook opened in a real JupyterLab, in headless Chromium.

Mermaid reports a syntax error (a ``;`` in a message, an unknown arrow) only when it draws,
and JupyterLab then shows the source with the error instead of the diagram. Chromium's
``--dump-dom`` gives the page once JupyterLab has rendered it; the test counts the drawn
diagrams and reads any error. Skipped where Chromium is not installed (``apt-get install chromium``).
"""
from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.procs import free_port, http_ok, spawn, terminate, wait_until

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _diagrams(path: Path) -> int:
    return sum(c.source.count("```mermaid") for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


WITH_DIAGRAMS = [p for p in NOTEBOOKS if _diagrams(p)]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory):
    """A JupyterLab server on the notebooks folder, with every cell rendered (no windowing); yields (base URL, token)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` to check that JupyterLab draws the diagrams")
    home = tmp_path_factory.mktemp("jupyterlab")
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = free_port(), secrets.token_hex(12)
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={ROOT / 'notebooks'}", f"--LabApp.user_settings_dir={home / 'settings'}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    env = {"JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    proc = spawn(argv, env=env, log_path=home / "jupyterlab.log")
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until(lambda: http_ok(f"{base}/api/status?token={token}"), timeout=90, while_alive=proc.pid):
            pytest.fail("JupyterLab did not start; its log ends:\n" + (home / "jupyterlab.log").read_text()[-3000:])
        yield base, token, home
    finally:
        terminate(proc.pid, timeout=15)


@pytest.mark.slow
@pytest.mark.parametrize("path", WITH_DIAGRAMS, ids=lambda p: p.stem)
def test_jupyterlab_draws_every_mermaid_diagram(jupyterlab, path: Path):
    base, token, home = jupyterlab
    url = f"{base}/lab/workspaces/{path.stem}/tree/{path.name}?token={token}&reset"
    page = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={home / 'chromium' / path.stem}",
                           "--virtual-time-budget=30000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=180).stdout
    assert "jp-Notebook" in page, f"JupyterLab did not open {path.name}"
    errors = [html.unescape(re.sub(r"<[^>]+>", " ", e)).strip()
              for e in re.findall(r'class="jp-RenderedMermaid jp-mod-warning">.*?<pre>(.*?)</pre></details>', page, re.S)]
    assert not errors, f"{path.name}: mermaid cannot draw:\n" + "\n".join(errors)
    drawn = len(re.findall(r'class="jp-RenderedMermaid"><figure><img src="data:image/svg\+xml', page))
    assert drawn == _diagrams(path), f"{path.name}: JupyterLab drew {drawn} of {_diagrams(path)} diagrams"
