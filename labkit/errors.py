"""The error type every part of the stack raises: the message is a sentence that says what to do next."""
from __future__ import annotations


class StackError(RuntimeError):
    """A component could not be started, stopped or reached; the message says what to do."""
