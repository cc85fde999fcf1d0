"""Request dependencies every service reads from its own app (one place, as the template's ``api/deps.py``).

One host process runs many apps, so nothing here is a process-wide singleton: each
dependency returns what the app's factory put in ``app.state``. They are ``async def``:
FastAPI runs a plain ``def`` dependency in a worker thread, a hop that costs more than
reading an attribute. A service names the types it uses once::

    SettingsDep = Annotated[Settings, Depends(settings_of)]
    StoreDep = Annotated[Store, Depends(store_of)]
"""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import Depends, Request

from .client import ServiceClient


def from_state(attribute: str) -> Callable[[Request], Any]:
    """A dependency that returns ``request.app.state.<attribute>`` (what the factory put there)."""

    async def get(request: Request) -> Any:
        return getattr(request.app.state, attribute)

    get.__name__ = f"{attribute}_of"
    get.__doc__ = f"The app's {attribute} (built by the service's factory)."
    return get


settings_of = from_state("settings")  # the app's settings object
store_of = from_state("store")  # the app's store over its own SQLite database
client_of = from_state("client")  # the app's outgoing HTTP client (labservices.common.client)


ClientDep = Annotated[ServiceClient, Depends(client_of)]
