"""Event-driven architecture for the lab's services: CloudEvents, a transactional outbox, idempotent consumers.

``EventBus`` (``bus.py``) is a service's side of the RabbitMQ bus; ``Event``, ``Poison`` and
``Transient`` (``envelope.py``) are what flows on it and how a handler says what went wrong;
``store.py`` keeps the outbox and the inbox in the service's own database.
"""
from .bus import DEAD_EXCHANGE, EXCHANGE, EventBus, exchange_name
from .envelope import CONTENT_TYPE, Event, Poison, Transient, decode, stable_id

__all__ = ["EventBus", "Event", "Poison", "Transient", "decode", "stable_id", "EXCHANGE", "DEAD_EXCHANGE",
           "CONTENT_TYPE", "exchange_name"]
