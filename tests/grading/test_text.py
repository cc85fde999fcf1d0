"""Student text made safe: one bounded line, no control characters, escaped for each output."""
from __future__ import annotations

import io

import pytest

from labkit.grading import text
from labkit.grading.progress import Progress


class Unprintable:
    def __str__(self):
        raise RuntimeError("no")


@pytest.mark.parametrize("value,clean", [
    ("a\nb\r\tc", "a b c"),
    ("\x1b[2J\x1b[31mred\x07", "[2J[31mred"),
    ("right\u202eto left\u200b", "rightto left"),
    (Unprintable(), "<unprintable>"),
    ("x" * 1000, "x" * 399 + "…"),
])
def test_clean_is_one_bounded_line_without_invisible_characters(value, clean):
    assert text.clean(value) == clean


def test_markdown_shows_markup_as_text():
    assert text.markdown("<b>hi</b> ![x](http://t) | a") == "\\<b\\>hi\\</b\\> \\!\\[x\\](http://t) \\| a"
    assert text.markdown("# Разом: 14/14") == "\\# Разом: 14/14"
    assert text.markdown("- item") == "\\- item" and text.markdown("1. item") == "1\\. item"


def test_html_escapes():
    assert text.html_text("<script>&'\"") == "&lt;script&gt;&amp;&#x27;&quot;"


@pytest.mark.parametrize("value", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\t=x"])
def test_csv_cells_never_start_a_formula(value):
    assert text.csv_cell(value).startswith("'")


def test_file_names_are_unique_stable_and_plain_ids_stay_readable():
    names = ["bob", "bob_", "Bob", "BOB", "=1+2", "_1_2", "Іван Петренко", "con", "a/../b", "..", ""]
    stems = [text.file_stem(n) for n in names]
    assert len(set(stems)) == len(stems) and len({s.lower() for s in stems}) == len(stems)
    assert stems[:2] == ["bob", "bob_"] and stems == [text.file_stem(n) for n in names]
    assert all("/" not in s and not s.startswith(".") for s in stems)


def test_notes_are_bounded_in_number():
    notes = text.bounded_notes([f"note {n}\n" for n in range(100)])
    assert len(notes) == text.MAX_NOTES + 1 and notes[-1] == "... and 60 more notes."


def test_the_progress_line_shows_no_control_characters():
    stream = io.StringIO()
    Progress(1, stream=stream).update("evil\x1b]0;pwned\x07\x1b[2J", "ok", 1, 1, 0.1)
    assert "\x1b" not in stream.getvalue() and "\x07" not in stream.getvalue()
