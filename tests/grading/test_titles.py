"""Every course check has a Ukrainian title, and the feedback table shows it, not the English description."""
from __future__ import annotations

import re

from labkit.grading import catalog
from labkit.grading.exercise import Check, Exercise
from labkit.grading.runner import run_exercise
from labkit.grading.titles import TITLES_UK

CYRILLIC = re.compile(r"[а-яіїєґ]", re.IGNORECASE)


def test_every_course_check_has_a_ukrainian_title_and_no_title_is_stray():
    ids = {c.id for ex in catalog.course_exercises().values() for c in ex.checks}
    assert ids == set(TITLES_UK)
    english = [i for i, t in TITLES_UK.items() if not CYRILLIC.search(t)]
    assert english == []


class Nobody:
    def has(self, name):
        return False

    def close(self):
        pass


def test_the_table_shows_the_title_and_keeps_the_id_and_description_for_the_instructor():
    ex = catalog.exercise("ex05")
    report = run_exercise(ex, Nobody(), services={})
    row = report.results[0]
    assert (row.check, row.description, row.title) == ("ex05.backoff", ex.checks[0].description, TITLES_UK["ex05.backoff"])
    text, html, md = report.to_text(), report.to_html(), report.to_markdown()
    for shown in (text, html, md):
        assert "росте як base·2^(attempt−1)" in shown
        assert ex.checks[0].description not in shown
    assert "ex05.backoff" not in text and "title='ex05.backoff'" in html  # the id: a tooltip only
    assert report.from_dict(report.to_dict()).results[0].title == row.title


def test_a_check_without_a_title_shows_its_description():
    hidden = Check("ex05.hidden", 1, "Прихована перевірка викладача", "Підказка", lambda ctx: None)
    report = run_exercise(Exercise("ex05", "t", [hidden]), Nobody(), services={})
    assert "Прихована перевірка викладача" in report.to_text()
