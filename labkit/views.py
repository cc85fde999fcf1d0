"""Rich displays of the stack for notebooks: HTML in Jupyter, the CLI's table in a terminal."""
from __future__ import annotations

import html

from .cli import HEALTH_MARKS, status_table

COLOURS = {"healthy": "#1a7f37", "external": "#1a7f37", "unhealthy": "#cf222e", "stopped": "#888"}


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
            rows.append(
                f"<tr><td><b>{html.escape(s.name)}</b></td><td><code>{html.escape(s.url)}</code>{extra}</td>"
                f"<td style='color:{COLOURS.get(s.health, '#888')}'>{HEALTH_MARKS.get(s.health, s.health)}</td>"
                f"<td>{s.pid or '—'}</td><td>{f'{s.rss_mb:.0f} MB' if s.rss_mb else '—'}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in ("сервіс", "адреса", "стан", "pid", "пам'ять"))
        return f"<table><tr>{head}</tr>{''.join(rows)}</table>"
