"""Rich displays of the stack for notebooks: HTML in Jupyter, the CLI's table in a terminal."""
from __future__ import annotations

import html

from .tables import HEALTH_MARKS, memory, status_table

COLOURS = {"healthy": "#1a7f37", "external": "#1a7f37", "unhealthy": "#cf222e", "stopped": "#888"}
STATES_UK = {"running": "працює", "stopped": "зупинено", "isolated": "окремий процес", "frozen": "заморожено",
             "failed": "збій", "restarting": "перезапуск", "starting": "запуск", "external": "зовнішній"}


class StatusView:
    def __init__(self, statuses) -> None:
        self.statuses = statuses

    @property
    def healthy(self) -> bool:
        return all(s.health in ("healthy", "external") for s in self.statuses)

    def __getitem__(self, name: str):
        return next(s for s in self.statuses if s.name == name)

    def __repr__(self) -> str:
        return status_table(self.statuses)

    def _repr_html_(self) -> str:
        rows = []
        for s in self.statuses:
            extra = "".join(f"<br><small>{html.escape(k)}: <code>{html.escape(str(v))}</code></small>"
                            for k, v in s.details.items() if k != "url")
            note = f"<br><small>{html.escape(s.note)}</small>" if s.note else ""
            rows.append(
                f"<tr><td><b>{html.escape(s.name)}</b></td><td><code>{html.escape(s.url)}</code>{extra}</td>"
                f"<td>{html.escape(STATES_UK.get(s.state, s.state))}</td>"
                f"<td style='color:{COLOURS.get(s.health, '#888')}'>{HEALTH_MARKS.get(s.health, s.health)}{note}</td>"
                f"<td>{s.pid or '—'}</td><td>{memory(s).replace('-', '—')}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in ("сервіс", "адреса", "стан", "здоров'я", "pid", "пам'ять (PSS)"))
        return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


class ServicesView:
    """What each part of the lab shows and in which notebooks, from the service declarations (notebook 00)."""

    def rows(self) -> list[tuple[str, str, str, str]]:
        from labservices.common.declaration import declarations

        from .brokers import KAFKA, RABBITMQ
        from .config import url
        from .monitoring import ALERTMANAGER, PROMETHEUS

        rows = [(s.name, url(s.name), s.about, s.notebooks) for s in declarations()]
        rows += [(b.name, b.address, b.about, b.notebooks) for b in (RABBITMQ, KAFKA, PROMETHEUS, ALERTMANAGER)]
        return rows

    def __repr__(self) -> str:
        from .tables import format_table

        return format_table([list(r) for r in self.rows()], ["SERVICE", "URL", "WHAT IT SHOWS", "NOTEBOOKS"])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("сервіс", "адреса", "що він показує", "зошити"))
        body = "".join(
            f"<tr><td><b>{html.escape(name)}</b></td><td><code>{html.escape(address)}</code></td>"
            f"<td>{html.escape(about)}</td><td>{html.escape(notebooks)}</td></tr>"
            for name, address, about, notebooks in self.rows())
        return f"<table><tr>{head}</tr>{body}</table>"
