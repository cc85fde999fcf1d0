"""Addresses for the student's browser, which are not always the kernel's.

A notebook's kernel reaches a service at ``url("shop")``. The browser may not:

- under docker compose the kernel's ``http://shop:8001`` names a container; the browser reaches
  the port compose publishes on the machine (the JupyterLab container gets
  ``LAB_BROWSER_HOST=127.0.0.1``, so ``http://127.0.0.1:8001``);
- under Binder (or any JupyterHub) the browser reaches only JupyterLab's own address;
  jupyter-server-proxy forwards ``<JupyterLab's prefix>shop/`` to the service. Its entries come
  from the service declarations (:func:`server_proxy_servers`, loaded by
  ``labkit/jupyter/jupyter_server_config.py``), and a link is then that path, which the
  browser resolves against JupyterLab's own host.

In a notebook::

    from labkit import docs_url
    docs_url("shop")          # a link to the shop's /docs that opens from this browser
"""
from __future__ import annotations

import html
import os
from pathlib import Path

from . import config

BROWSER_HOST_ENV = "LAB_BROWSER_HOST"  # compose: where the browser finds the published ports
PROXY_ENV = "LAB_SERVER_PROXY"  # set where jupyter-server-proxy serves the lab's entries (Binder's `start`)
HUB_PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"  # JupyterHub's per-user prefix, e.g. /user/jovyan/
# Paths of Jupyter Server, JupyterLab and Notebook 7 that a proxy entry must not shadow.
RESERVED = {"api", "lab", "tree", "files", "view", "edit", "notebooks", "consoles", "terminals", "static",
            "login", "logout", "kernelspecs", "nbextensions", "proxy", "doc", "hub", "user"}
ICON = Path(__file__).parent / "jupyter" / "console.svg"


class Link(str):
    """A URL that a notebook shows as a link (and prints as plain text)."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        href = html.escape(str(self), quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener">{html.escape(str(self))}</a>'


def proxy_path(name: str) -> str:
    """The path segment jupyter-server-proxy serves component ``name`` under."""
    return f"lab-{name}" if name in RESERVED else name


def proxied() -> dict[str, int]:
    """Every local component the browser should reach through the proxy, with its port."""
    from .brokers import RABBITMQ
    from .components import components

    ports = {c.name: config.port_of(c.address) for c in components()
             if c.kind == "service" and not c.external}
    if not RABBITMQ.external:  # the management UI, with the queues students watch
        ports["rabbitmq"] = RABBITMQ.management_port
    return ports


def server_proxy_servers() -> dict[str, dict]:
    """jupyter-server-proxy's ``ServerProxy.servers``: one entry per local service (and RabbitMQ's UI).

    No ``command``: `lab up` has started them; the proxy only forwards. Its prefix reaches each
    service in ``X-Forwarded-Prefix`` (labservices.common's ForwardedPrefixMiddleware makes it
    the ``root_path``, so ``/docs`` works). Only the console is in JupyterLab's Launcher.
    """
    servers = {}
    for name, port in proxied().items():
        launcher = {"enabled": False}
        if name == "console":
            launcher = {"enabled": True, "title": "Lab console", "path_info": proxy_path(name) + "/"}
            if ICON.exists():
                launcher["icon_path"] = str(ICON)
        servers[proxy_path(name)] = {"port": port, "absolute_url": False, "launcher_entry": launcher,
                                     "new_browser_tab": True, "timeout": 10}
    return servers


def behind_proxy() -> str | None:
    """JupyterHub's prefix for this user when the lab's proxy entries serve it (Binder), else None."""
    prefix = os.environ.get(HUB_PREFIX_ENV)
    if not prefix or os.environ.get(PROXY_ENV, "").lower() not in ("1", "true", "yes"):
        return None
    return "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"


def browser_url(name: str) -> str:
    """Where the student's browser reaches component ``name`` (no trailing slash)."""
    address = config.url(name)
    host = os.environ.get(BROWSER_HOST_ENV)
    if host:
        scheme = address.split("://", 1)[0] if "://" in address else "http"
        return f"{scheme}://{host}:{config.port_of(address)}"
    prefix = behind_proxy()
    if prefix is not None and config.is_local(address):
        return prefix + proxy_path(name)
    return address


def docs_url(name: str) -> Link:
    """The interactive OpenAPI documentation of service ``name``, as a link that opens from this browser."""
    return Link(browser_url(name) + "/docs")


def console_url() -> Link:
    """The lab console's page (`lab console` prints it)."""
    return Link(browser_url("console") + "/")
