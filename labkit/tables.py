"""Plain-text tables for the terminal: what `lab status` prints and a notebook's repr falls back to."""
from __future__ import annotations

HEALTH_MARKS = {"healthy": "✓ healthy", "external": "✓ external", "unhealthy": "✗ unhealthy", "stopped": "· stopped"}


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def memory(status) -> str:
    mb = status.pss_mb or status.rss_mb
    return f"{mb:.0f} MB" if mb else "-"


def status_table(statuses) -> str:
    """One row per component: name, address, state, health, pid, memory (PSS), notes."""
    rows = [
        [s.name, s.url, s.state or "-", HEALTH_MARKS.get(s.health, s.health), s.pid or "-", memory(s),
         "; ".join(filter(None, [s.details.get("implementation"), s.note]))]  # which broker runs (Kafka or Tansu)
        for s in statuses
    ]
    return format_table(rows, ["SERVICE", "URL", "STATE", "HEALTH", "PID", "MEMORY (PSS)", "NOTE"])
