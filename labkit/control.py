"""Stop, start, slow down or break one part of the lab from a notebook, as `lab stop orders` does in a terminal.

    from labkit import stop, start, chaos, isolate, kill
    stop("catalog")              # its port now refuses connections; everything else answers
    start("catalog")
    chaos("catalog", latency_ms=800)   # every request waits 0.8 s; chaos("catalog") switches it off
    isolate("orders")            # orders moves into a process of its own ...
    kill("orders")               # ... so it can be killed with SIGKILL (or frozen: kill("orders", "STOP"))

Each call returns the component's new state; a refusal is a ``StackError`` whose message says
what to do (for example: isolate a service before sending it a signal).
"""
from __future__ import annotations

from .stack import Stack


def stop(name: str) -> dict:
    """Stop one service (or broker): callers get "connection refused" until it is started again."""
    stack = Stack()
    stack.stop(name)
    return _state(stack, name)


def start(name: str) -> dict:
    """Start one stopped service (or broker) and wait until it is healthy."""
    return Stack().start(name).as_dict()


def restart(name: str) -> dict:
    """Stop and start one service: a fresh app (in-memory state gone), the same database."""
    return Stack().restart(name).as_dict()


def isolate(name: str) -> dict:
    """Run a service in a process of its own (same port, data and log), so it can be killed or frozen."""
    return Stack().isolate(name)


def join(name: str) -> dict:
    """Bring an isolated service back into the shared host process."""
    return Stack().join(name)


def kill(name: str, signal: str = "KILL") -> dict:
    """Send a real signal to an isolated service or a broker: KILL, STOP (freeze), CONT (thaw), TERM."""
    return Stack().signal(name, signal)


def chaos(name: str, **switches) -> dict:
    """Slow down or break one service: latency_ms, jitter_ms, error_rate, error_status, down. None: all off."""
    return Stack().chaos(name, **switches)


def _state(stack: Stack, name: str) -> dict:
    return next(s for s in stack.status() if s.name == name).as_dict()
