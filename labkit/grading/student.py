"""The student's code behind one handle, wherever it runs.

Checks call ``ctx.call("list_products", ...)`` and get JSON data back, or a
:class:`StudentError` that says in Ukrainian what went wrong (not implemented yet,
an exception, a value that is not JSON data, no answer in time, the process ended).
:class:`KernelStudent` calls functions in the student's own kernel (``check()``);
``sandbox.SandboxStudent`` calls them in a sandboxed child process (``lab grade``).
Both go through the same :func:`invoke`, so a check sees the same thing in both.
"""
from __future__ import annotations

import threading
from typing import Any

from .child import invoke


class StudentError(Exception):
    """The student's code failed in a way a check reports, not a bug in the check."""

    def __init__(self, kind: str, name: str, type_: str = "", detail: str = "", where: str = "") -> None:
        self.kind, self.name, self.type, self.detail, self.where = kind, name, type_, detail, where
        super().__init__(self.message())

    @classmethod
    def from_reply(cls, name: str, reply: dict) -> "StudentError":
        return cls(reply.get("kind", "exception"), name, reply.get("type", ""),
                   reply.get("message", ""), reply.get("where", ""))

    def message(self) -> str:
        n = f"`{self.name}`"
        detail = f": {self.detail}" if self.detail else ""
        where = f" ({self.where})" if self.where else ""
        texts = {
            "missing": (f"{n} ще не означено: цей крок ще попереду. Коли дійдете до нього й виконаєте клітинку, "
                        "перевірка його зарахує (а якщо вже виконали, перевірте назву)."),
            "not_implemented": f"{n} ще не реалізовано (NotImplementedError). Допишіть код замість заглушки.",
            "not_callable": f"{n} має бути функцією, а зараз це {self.type}.",
            "exception": f"{n} кинула виняток {self.type}{detail}{where}.",
            "memory": f"{n} використала забагато пам'яті (MemoryError).",
            "exited": f"{n} завершила процес (sys.exit / os._exit); функція має повертати значення.",
            "unserialisable": (f"{n} повернула об'єкт типу {self.type}, а не дані JSON "
                               f"(dict, list, str, int, float, bool, None){detail}."),
            "timeout": f"{n} не повернула результат вчасно{self.detail}. Перевірте, чи немає нескінченного циклу.",
            "crashed": f"процес із вашим кодом аварійно завершився під час виклику {n}{detail}.",
            "app": f"ваш застосунок {n} не вдалося запустити{detail}.",
            "too_large": f"{n} повернула завеликий результат ({self.type}{detail}).",
            "tampered": (f"виклик {n} не виконано: код роботи писав у канал перевірки не відповідь, тож перевірку "
                         "роботи зупинено."),
        }
        return texts.get(self.kind, f"{n}: {self.type}{detail}")


class KernelStudent:
    """The student's functions in their own kernel's namespace (for ``check()``: fast, no sandbox)."""

    def __init__(self, namespace: dict, call_timeout: float = 15.0) -> None:
        self.namespace = namespace
        self.call_timeout = call_timeout
        self._servers: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        return name in self.namespace

    def sources(self) -> list[str]:
        """The code the student ran: the kernel's input history (IPython keeps it in ``In``), cell by cell,
        then the source of each function the namespace holds now (for code that did not come from cells)."""
        import inspect

        history = self.namespace.get("In")
        found = [c for c in history if isinstance(c, str)] if isinstance(history, list) else []
        for value in list(self.namespace.values()):
            if inspect.isfunction(value):
                try:
                    found.append(inspect.getsource(value))
                except (OSError, TypeError):
                    pass
        return found

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name not in self.namespace:
            raise StudentError("missing", name)
        box: dict = {}
        # Copy arguments as JSON, as the sandbox does: the student's code cannot keep or change ours.
        args_, kwargs_ = invoke(lambda: (list(args), dict(kwargs)), [], {})["value"]
        worker = threading.Thread(target=lambda: box.update(invoke(self.namespace[name], args_, kwargs_)),
                                  daemon=True)
        worker.start()
        worker.join(self.call_timeout)
        if worker.is_alive():
            raise StudentError("timeout", name, detail=f" (за {self.call_timeout:.0f} с)")
        if not box.get("ok"):
            raise StudentError.from_reply(name, box)
        return box["value"]

    def serve(self, name: str) -> str:
        if name not in self._servers:
            if name not in self.namespace:
                raise StudentError("missing", name)
            from .appserver import AppServer

            try:
                self._servers[name] = AppServer(self.namespace[name]).start()
            except (TypeError, RuntimeError) as exc:
                raise StudentError("app", name, detail=f": {exc}") from None
        return self._servers[name].url

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
