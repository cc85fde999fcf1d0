"""The link `lab start` prints opens notebook 00 in JupyterLab, in a real browser (headless Chromium), quietly.

JupyterLab's own ``default_url`` (``/lab``) overrides the server's, so a start command that sets
only ``ServerApp.default_url`` prints a link that opens the Launcher. This test runs exactly the
command `lab start` runs, reads the link from what it prints, opens it in Chromium and looks at
the page JupyterLab drew.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import cli
from labkit.procs import free_port, spawn, terminate, wait_until
from tests.notebooks.test_mermaid import CHROMIUM, CHROMIUM_FLAGS


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab as `lab start` starts it (on a free port); yields (its output, the link it printed, home)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` to open the first page in a browser")
    home = tmp_path_factory.mktemp("first-page")
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    argv = cli.jupyter_command(jupyter, "127.0.0.1", free_port(), no_browser=True)
    env = cli.jupyter_environment({"PATH": "/usr/bin:/bin", "HOME": str(home),
                                   "JUPYTER_CONFIG_DIR": str(home / "config"),
                                   "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                                   "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")})
    cli.write_lab_settings()
    log = home / "jupyterlab.log"
    proc = spawn(argv, env=env, log_path=log, cwd=cli.ROOT)
    link = re.compile(r"http://127\.0\.0\.1:\d+/\S+")
    try:
        if not wait_until(lambda: link.search(log.read_text()), timeout=90, while_alive=proc.pid):
            pytest.fail("JupyterLab printed no link; its output:\n" + log.read_text()[-3000:])
        yield log.read_text(), link.search(log.read_text()).group(0), home
    finally:
        terminate(proc.pid, timeout=15)


def test_the_printed_link_opens_notebook_00(started):
    output, url, home = started
    assert "/lab/tree/notebooks/00-start-here.ipynb?token=" in url
    page = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={home / 'chromium'}",
                           "--virtual-time-budget=30000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=180).stdout
    assert "jp-Notebook" in page, "JupyterLab did not open a notebook"
    tabs = re.findall(r'<li[^>]*title="([^"]*)"[^>]*class="([^"]*lm-TabBar-tab[^"]*)"', page)
    documents = [title.split("\n")[0] for title, classes in tabs if "document-title" in page and "lm-mod-closable" in classes]
    current = [title for title, classes in tabs if "lm-mod-current" in classes and "lm-mod-closable" in classes]
    assert any("00-start-here.ipynb" in title for title in current), f"open documents: {documents}"
    assert not any(title.startswith("Launcher") for title in documents), f"the Launcher opened: {documents}"
    assert "official Jupyter news" not in page, "JupyterLab asked about its news"


def test_the_start_is_quiet(started):
    output, _, _ = started
    noisy = [line for line in output.splitlines() if re.match(r"\[[IW] ", line)]
    assert noisy == [], "JupyterLab's start printed:\n" + "\n".join(noisy[:10])


def test_the_lab_command_is_on_the_servers_path():
    env = cli.jupyter_environment({"PATH": "/usr/bin:/bin"})
    found = shutil.which("lab", path=env["PATH"])
    assert found and Path(found).parent == Path(sys.executable).parent
    assert cli.jupyter_environment(env)["PATH"] == env["PATH"]  # not added twice
