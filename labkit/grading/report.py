"""The feedback table: one row per check, ✓/✗, points, expected vs seen, the hint.

The same :class:`Report` renders as HTML (``check()`` in Jupyter), as plain text (a
terminal) and as Markdown (the feedback file ``lab grade`` writes per student),
so what the instructor sends back is exactly what the student saw.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from . import text


@dataclass
class Result:
    """One check's outcome."""

    check: str
    description: str
    points: int
    earned: int
    passed: bool
    expected: str = ""
    seen: str = ""
    message: str = ""  # why it failed, in Ukrainian, when the expected/seen pair is not enough
    hint: str = ""
    title: str = ""  # what the student reads (titles.TITLES_UK); the description when empty

    @property
    def shown(self) -> str:
        return self.title or self.description


@dataclass
class Report:
    """One exercise's outcomes."""

    exercise: str
    title: str
    results: list[Result] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # whole-run problems: a service down, unknown id

    @property
    def score(self) -> int:
        return sum(r.earned for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.points for r in self.results)

    def to_dict(self) -> dict:
        return {"exercise": self.exercise, "title": self.title, "score": self.score,
                "max": self.max_score, "notices": self.notices,
                "results": [asdict(r) for r in self.results]}

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        return cls(data["exercise"], data["title"], [Result(**r) for r in data["results"]],
                   list(data.get("notices", [])))

    # -- rendering --------------------------------------------------------------------

    def heading(self) -> str:
        return f"{self.exercise} · {self.title}: {self.score}/{self.max_score}"

    def to_text(self) -> str:
        lines = [self.heading()]
        lines += [f"  ! {n}" for n in self.notices]
        for r in self.results:
            mark = "✓" if r.passed else "✗"
            lines.append(f"  {mark} {r.earned}/{r.points}  {r.shown}")
            if not r.passed:
                if r.message:
                    lines.append(f"        {r.message}")
                if r.expected or r.seen:
                    lines.append(f"        очікувалось: {r.expected}")
                    lines.append(f"        отримано:    {r.seen}")
                if r.hint:
                    lines.append(f"        підказка: {r.hint}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        out = [f"### {_md(self.heading())}", ""]
        out += [f"> **{_md(n)}**" for n in self.notices]
        if self.notices:
            out.append("")
        out += ["| | бали | перевірка | очікувалось | отримано | підказка |", "|---|---|---|---|---|---|"]
        for r in self.results:
            mark = "✓" if r.passed else "✗"
            seen = r.seen if not r.message else (f"{r.message} {r.seen}".strip())
            out.append(f"| {mark} | {r.earned}/{r.points} | {_md(r.shown)} | "
                       f"{_md(r.expected) if not r.passed else ''} | {_md(seen) if not r.passed else ''} | "
                       f"{_md(r.hint) if not r.passed else ''} |")
        return "\n".join(out) + "\n"

    def to_html(self) -> str:
        e = text.html_text
        color = "#1a7f37" if self.max_score and self.score == self.max_score else "#9a6700"
        rows = []
        for r in self.results:
            mark = '<span style="color:#1a7f37">✓</span>' if r.passed else '<span style="color:#cf222e">✗</span>'
            seen = "" if r.passed else e(r.seen)
            if not r.passed and r.message:
                seen = f"<div>{e(r.message)}</div>" + (f"<code>{seen}</code>" if seen else "")
            elif seen:
                seen = f"<code>{seen}</code>"
            expected = "" if r.passed or not r.expected else f"<code>{e(r.expected)}</code>"
            hint = "" if r.passed else e(r.hint)
            rows.append(
                f"<tr><td style='text-align:center'>{mark}</td><td>{r.earned}/{r.points}</td>"
                f"<td title='{e(r.check)}'>{e(r.shown)}</td><td>{expected}</td><td>{seen}</td>"
                f"<td><i>{hint}</i></td></tr>")
        notices = "".join(f"<div style='color:#cf222e'><b>{e(n)}</b></div>" for n in self.notices)
        return (
            f"<div class='lab-check'><h4 style='margin:4px 0'>{e(self.exercise)} · {e(self.title)}: "
            f"<span style='color:{color}'>{self.score}/{self.max_score}</span></h4>{notices}"
            "<table><thead><tr><th></th><th>бали</th><th>перевірка</th><th>очікувалось</th>"
            "<th>отримано</th><th>підказка</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
        )


@dataclass
class Feedback:
    """What ``check()`` returns: the reports of one or more exercises, shown as a table."""

    reports: list[Report] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(r.score for r in self.reports)

    @property
    def max_score(self) -> int:
        return sum(r.max_score for r in self.reports)

    def __str__(self) -> str:
        parts = [f"! {n}" for n in self.notices] + [r.to_text() for r in self.reports]
        return "\n\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        notices = "".join(f"<div style='color:#cf222e'><b>{text.html_text(n)}</b></div>" for n in self.notices)
        return notices + "".join(r.to_html() for r in self.reports)

    def to_markdown(self) -> str:
        parts = [f"> **{_md(n)}**\n" for n in self.notices] + [r.to_markdown() for r in self.reports]
        return "\n".join(parts)


def _md(value) -> str:
    """Text safe inside a Markdown table cell: one line, bounded, nothing that renders as markup."""
    return text.markdown(value)
