# Jupyter Server reads this file when its folder is on JUPYTER_CONFIG_PATH: Binder's `start` puts it
# there. It gives jupyter-server-proxy one entry per lab service, derived from the declarations
# (labkit.browser.server_proxy_servers), so every /docs and the lab console open through
# JupyterLab's own address: <JupyterLab's prefix>shop/docs, <JupyterLab's prefix>console/.
# It also keeps solutions/ out of the file browser, as `lab start` does (LAB_SHOW_SOLUTIONS=1 shows it).
import os

from labkit.browser import PROXY_ENV, server_proxy_servers
from labkit.workspace import hide_globs

c = get_config()  # noqa: F821 - Jupyter's config loader provides it
c.ServerProxy.servers = server_proxy_servers()
c.ContentsManager.hide_globs = hide_globs()
os.environ.setdefault(PROXY_ENV, "1")  # kernels and terminals of this server print links through the proxy
