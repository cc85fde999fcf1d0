"""Integration Lab's toolkit for notebooks and instructors: addresses, the stack, widgets, the grader.

In a notebook::

    from labkit import url, show, explorer, status
    status()                                   # what runs where
    resp = requests.get(url("shop") + "/api/users/12345")
    show(resp)                                 # status, headers, pretty JSON
    predict(["200", "401"], answer=1)          # "what will happen?" before the next cell (labkit.quiz)

The brokers: ``amqp_url()`` for pika, ``kafka_bootstrap()`` for kafka-python; queue depths,
a live depth chart and more in :mod:`labkit.brokers`. One service at a time: ``stop``,
``start``, ``restart``, ``chaos``, ``isolate`` and ``kill`` (:mod:`labkit.control`); a request's
path through the services: ``trace(resp)`` (:mod:`labkit.traces`).
"""
from __future__ import annotations

from .config import amqp_url, kafka_bootstrap, url

__all__ = ["url", "amqp_url", "kafka_bootstrap", "show", "explorer", "status", "services", "check",
           "stop", "start", "restart", "isolate", "join", "kill", "chaos", "trace", "predict"]

_LAZY = {"check": "check", "stop": "control", "start": "control", "restart": "control", "isolate": "control",
         "join": "control", "kill": "control", "chaos": "control", "trace": "traces", "predict": "quiz"}


def show(resp):
    """Display a ``requests.Response``: status, time, headers and pretty JSON."""
    from .widgets import show as _show

    return _show(resp)


def explorer(*args, **kwargs):
    """An HTTP request explorer widget for a lab service (see :func:`labkit.widgets.explorer`)."""
    from .widgets import explorer as _explorer

    return _explorer(*args, **kwargs)


def status():
    """What runs where: the same table as `lab status`, drawn in the notebook."""
    from .stack import Stack
    from .views import StatusView

    return StatusView(Stack().status())


def services():
    """Every service and broker of the lab: what it shows and which notebooks use it (from the declarations)."""
    from .views import ServicesView

    return ServicesView()


def __getattr__(name: str):
    # `from labkit import check` loads the grader only when a notebook asks for it; the rest likewise.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
