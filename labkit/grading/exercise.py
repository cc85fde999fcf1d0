"""Exercises as data: an exercise is an id, a title and checks; a check is points, a line and a hint.

A check's ``run`` gets a :class:`Context` (the student's code behind a handle, the
live services' addresses) and either returns (passed) or raises
:class:`CheckFailed` with what was expected and what was seen. Helpers such as
:func:`expect` keep check bodies short and their failures specific.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


class CheckFailed(Exception):
    """A check's verdict: the student's code did not do what the check expected."""

    def __init__(self, expected: str, seen: str, message: str = "") -> None:
        super().__init__(message or f"expected {expected}, saw {seen}")
        self.expected = expected
        self.seen = seen
        self.message = message


class Student(Protocol):
    """What a check may ask of the student's code, wherever that code runs."""

    def has(self, name: str) -> bool: ...

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any: ...

    def serve(self, name: str) -> str: ...


@dataclass
class Context:
    """What a check runs with: the student's code, service addresses, a per-run token."""

    student: Student
    services: dict[str, str]
    token: str = field(default_factory=lambda: secrets.token_hex(4))
    scratch: dict[str, Any] = field(default_factory=dict)  # shared between one run's checks

    def url(self, service: str) -> str:
        return self.services[service]

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's function ``name``; their failures become StudentError."""
        return self.student.call(name, *args, **kwargs)

    def app_url(self, name: str = "app") -> str:
        """Base URL of the student's ASGI app ``name``, started once per run."""
        key = f"app_url:{name}"
        if key not in self.scratch:
            self.scratch[key] = self.student.serve(name)
        return self.scratch[key]

    def unique(self, prefix: str) -> str:
        """A name no earlier run and no hard-coded answer can know."""
        return f"{prefix}-{self.token}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Check:
    """One graded behaviour."""

    id: str
    points: int
    description: str  # one line, English, says what is checked
    hint_uk: str  # shown to the student when the check fails
    run: Callable[[Context], Any]
    uses: tuple[str, ...] = ()  # names the student's code must define
    services: tuple[str, ...] = ()  # lab services the check talks to


@dataclass
class Exercise:
    """A graded exercise: the checks, in the order they run and are shown."""

    id: str
    title: str
    checks: list[Check]
    services: tuple[str, ...] = ()  # lab services (HTTP) the checks and the student's code use
    brokers: tuple[str, ...] = ()  # the lab's brokers they use: "rabbitmq", "kafka" (see grading.brokers)
    teardown: Callable[[Context], Any] | None = None  # after the checks: delete what they made

    @property
    def points(self) -> int:
        return sum(c.points for c in self.checks)

    def names(self) -> list[str]:
        """Every name of the student's code that some check uses."""
        seen: list[str] = []
        for c in self.checks:
            for n in c.uses:
                if n not in seen:
                    seen.append(n)
        return seen


def short(value: Any, limit: int = 160) -> str:
    """A value as one short line, for the expected/seen columns."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expect(condition: bool, expected: str, seen: Any, message: str = "") -> None:
    """Fail the check unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(expected, seen if isinstance(seen, str) else short(seen), message)


def expect_equal(seen: Any, wanted: Any, what: str = "") -> None:
    """Fail unless ``seen == wanted``; both are shown."""
    if seen != wanted:
        prefix = f"{what}: " if what else ""
        raise CheckFailed(prefix + short(wanted), prefix + short(seen))


def expect_type(value: Any, kind: type | tuple[type, ...], what: str) -> None:
    """Fail with a clear "wrong type" message unless ``value`` is of ``kind``."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " або ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise CheckFailed(
            f"{what}: {names}",
            f"{what}: {type(value).__name__} {short(value, 60)}",
            f"{what} має бути типу {names}, а не {type(value).__name__}.",
        )
