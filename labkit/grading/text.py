"""Text a submission influenced, made safe to show: one line, no control characters, bounded, escaped.

Student ids (file and folder names), exception types and messages, returned values and
the notes built from them reach a terminal, CSV cells, Markdown and HTML feedback and the
gradebook. Each of those goes through :func:`clean` (one bounded line without control or
format characters: no terminal escapes, no bidi overrides, no fake new lines) and then
the escaping of its format: :func:`markdown`, :func:`html_text`, :func:`csv_cell`.
"""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata

NOTE_CHARS = 400  # a note, a message, an expected/seen cell
NAME_CHARS = 120  # a student id
MAX_NOTES = 40  # notes kept per student; the rest are counted

_DROP = {"Cc", "Cf", "Cs", "Co", "Cn"}  # controls, format (bidi, zero-width), surrogates, private, unassigned
_SPACE = {"Zl", "Zp"}
_MD_SPECIAL = set("\\`*_[]<>|~#!&")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def clean(value, limit: int = NOTE_CHARS) -> str:
    """``value`` as one line of at most ``limit`` characters, without control or invisible characters."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 - a student's object whose __str__ raises
        text = "<unprintable>"
    text = text[: limit * 4]  # never scan megabytes for a short line
    out = []
    for ch in text:
        kind = unicodedata.category(ch)
        if ch in "\t\n\r\v\f" or kind in _SPACE:
            out.append(" ")
        elif kind not in _DROP:
            out.append(ch)
    text = " ".join("".join(out).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(value, limit: int = NOTE_CHARS) -> str:
    """Clean text that renders as itself in Markdown (and in a table cell): no HTML, links, headings or emphasis."""
    text = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in clean(value, limit))
    if text[:1] in ("-", "+", "=") or re.match(r"\d+[.)]", text):
        first = re.match(r"\d*", text).end()
        text = text[:first] + "\\" + text[first:]
    return text


def html_text(value, limit: int = NOTE_CHARS) -> str:
    return html.escape(clean(value, limit))


def csv_cell(value, limit: int = NOTE_CHARS) -> str:
    """Clean text a spreadsheet will not run as a formula (OWASP: a leading quote before = + - @ tab CR)."""
    text = clean(value, limit)
    return "'" + text if text.startswith(_CSV_FORMULA) else text


_PLAIN_NAME = re.compile(r"[a-z0-9_][a-z0-9._@-]{0,99}")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def file_stem(student: str) -> str:
    """A file name for ``student``'s feedback: the id itself when it is plain, else a readable part and a hash.

    Plain ids (lower-case ASCII letters, digits, ``._@-``) stay as they are; any other id
    gets ``~`` and eight hex digits of its hash, a character plain ids never contain, so two
    ids never share a file (``bob`` and ``bob_``, ``Bob`` and ``bob`` on a case-insensitive
    disk) and an id keeps its file from one run to the next.
    """
    if _PLAIN_NAME.fullmatch(student) and ".." not in student and student.split(".")[0] not in _RESERVED:
        return student
    readable = re.sub(r"[^\w.@-]+", "_", unicodedata.normalize("NFC", clean(student, 60))).strip("._-") or "student"
    return f"{readable}~{hashlib.sha256(student.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def bounded_notes(notes: list[str]) -> list[str]:
    """Each note cleaned, at most :data:`MAX_NOTES` of them (and how many more there were)."""
    kept = [clean(n) for n in notes[:MAX_NOTES]]
    if len(notes) > MAX_NOTES:
        kept.append(f"... and {len(notes) - MAX_NOTES} more notes.")
    return kept
