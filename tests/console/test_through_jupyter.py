"""Through JupyterLab's own address, as under Binder: jupyter-server-proxy entries from labkit/jupyter/.

A Jupyter server with JupyterHub's per-user prefix and the lab's config folder on
JUPYTER_CONFIG_PATH (what Binder's `start` sets) serves each service's /docs and the console under
``/user/<name>/<service>/``; in Chromium, the shop's docs page finds its OpenAPI document under
the prefix (Swagger UI's scripts come from a CDN, so the test fetches that document from the
page as Swagger UI would), and the console lists the lab's components (its relative URLs work).
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest
import requests

from labkit.procs import free_port, http_ok, spawn, terminate, wait_until
from tests.chromium import CHROMIUM, Chromium
from tests.conftest import ROOT, running_host

PREFIX = "/user/student-1/"


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory):
    """The shop and the console in a host, and a Jupyter server proxying them; yields (base URL, token, home)."""
    home = tmp_path_factory.mktemp("through-jupyter")
    # What Binder's `start` exports before `lab up`, so the console's /docs links go through the proxy too.
    hub = {"JUPYTERHUB_SERVICE_PREFIX": PREFIX, "LAB_SERVER_PROXY": "1"}
    with running_host(["shop", "console"], home, hub) as _stack:
        port, token = free_port(), secrets.token_hex(12)
        argv = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}", f"--ServerApp.token={token}",
                f"--ServerApp.base_url={PREFIX}", f"--ServerApp.root_dir={home}"]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        env = {"JUPYTER_CONFIG_PATH": str(ROOT / "labkit" / "jupyter"), "JUPYTER_CONFIG_DIR": str(home / "config"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERHUB_SERVICE_PREFIX": PREFIX}
        proc = spawn(argv, env=env, log_path=home / "jupyter.log")
        base = f"http://127.0.0.1:{port}{PREFIX}"
        try:
            if not wait_until(lambda: http_ok(f"{base}api/status?token={token}"), timeout=90, while_alive=proc.pid):
                pytest.fail("Jupyter did not start:\n" + (home / "jupyter.log").read_text()[-3000:])
            yield base, token, home
        finally:
            terminate(proc.pid, timeout=15)


def test_docs_through_the_proxy_load_openapi_json_under_the_prefix(jupyter):
    base, token, _ = jupyter
    auth = {"Authorization": f"token {token}"}
    page = requests.get(f"{base}shop/docs", headers=auth, timeout=10)
    assert page.status_code == 200 and f"'{PREFIX}shop/openapi.json'" in page.text
    spec = requests.get(f"{base}shop/openapi.json", headers=auth, timeout=10)
    assert spec.status_code == 200 and spec.json()["servers"] == [{"url": f"{PREFIX}shop"}]


def test_the_proxy_asks_for_jupyters_login(jupyter):
    base, _, _ = jupyter
    assert requests.get(f"{base}shop/api/products", timeout=10, allow_redirects=False).status_code in (302, 403)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: apt-get install chromium")
def test_swagger_and_the_console_work_in_a_browser_through_the_proxy(jupyter):
    base, token, home = jupyter
    with Chromium(home / "browser") as browser:
        browser.goto(f"{base}shop/docs?token={token}")  # the token logs the browser in (a cookie)
        # Swagger UI's own scripts come from a CDN this machine cannot reach; what the page asks them to load
        # is the part that is ours: the document's URL, fetched here from the page as Swagger UI would.
        spec = browser.eval("(async () => { const url = document.documentElement.innerHTML.match(/url: '([^']+)'/)[1];"
                            " const r = await fetch(url); return [url, r.status, Object.keys((await r.json()).paths).length]; })()")
        assert spec[0] == f"{PREFIX}shop/openapi.json" and spec[1] == 200 and spec[2] > 5
        browser.goto(f"{base}console/")
        browser.wait("document.querySelector('#components tr[data-name=\"shop\"] [data-health=healthy]')", 30,
                     what="the console's components")
        assert browser.eval("document.querySelector('#components tr[data-name=\"shop\"] a').getAttribute('href')") \
            == f"{PREFIX}shop/docs"
