"""One student's result in a batch: what the gradebook, the feedback file and Moodle's worksheet show."""
from __future__ import annotations

from dataclasses import dataclass, field

from .report import Report
from .submissions import MoodleParticipant


@dataclass
class Graded:
    student: str
    status: str = "ok"
    notes: list[str] = field(default_factory=list)
    reports: dict[str, Report] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # exercise id -> notebook graded for it
    seconds: float = 0.0
    isolation: str = ""
    moodle: MoodleParticipant | None = None

    @property
    def total(self) -> int:
        return sum(r.score for r in self.reports.values())
