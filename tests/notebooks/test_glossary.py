"""The course notebooks speak one vocabulary: the terms of notebooks/glossary.md, none of its avoided words,
none of the misspellings it lists, and every term where the glossary says it is introduced.

Ukrainian words change their endings, so a word is matched by its stem: the word without its
final vowels (and ь, й), followed by any ending.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GLOSSARY = ROOT / "notebooks" / "glossary.md"
ENDINGS = "аеєиіїоуюяьй"


def _table(heading: str) -> list[list[str]]:
    """The rows of the Markdown table under ``## heading`` in the glossary, as lists of cell texts."""
    text = GLOSSARY.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]  # without the header and the |---| line


TERMS = _table("Терміни")  # term, English, where introduced, avoided words
MISSPELLINGS = _table("Помилки, яких уникаємо")  # wrong, right


def stem(word: str) -> str:
    """``word`` without its final vowels, ь and й, keeping at least four letters."""
    end = len(word)
    while end > 4 and word[end - 1].lower() in ENDINGS:
        end -= 1
    return word[:end]


def pattern(phrase: str) -> re.Pattern:
    """A phrase in any grammatical form; a phrase with signs other than letters is matched as written."""
    if not re.fullmatch(r"[\w' ]+", phrase):
        return re.compile(re.escape(phrase), re.IGNORECASE)
    words = [re.escape(stem(word)) + r"[\w']*" for word in phrase.split()]
    return re.compile(r"(?<![\w'])" + r"\s+".join(words), re.IGNORECASE)


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _section(cells: list, where: str) -> str:
    """The text of notebook section ``§N`` (from its ``## N.`` heading to the next ``## ``), or the whole notebook."""
    if "§" not in where:
        return "\n".join(c.source for c in cells)
    number = where.split("§")[1].strip()
    inside, text = False, []
    for cell in cells:
        for line in cell.source.splitlines():
            if line.startswith("## "):
                inside = line.startswith(f"## {number}.")
            if inside:
                text.append(line)
    return "\n".join(text)


def _notebook(where: str) -> Path:
    prefix = where.split("§")[0].strip()
    [path] = [p for p in NOTEBOOKS if p.name.startswith(prefix + "-")]
    return path


def test_the_glossary_has_terms_and_misspellings():
    assert len(TERMS) >= 30 and all(len(row) == 4 for row in TERMS)
    assert {wrong for wrong, _right in MISSPELLINGS} >= {"неперевірене повідомлення", "тріває", "невірний", "співпадає"}


def test_each_english_term_has_one_ukrainian_term():
    english = [row[1].lower() for row in TERMS]
    assert len(english) == len(set(english)), "an English term appears twice: one idea, one term"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_points_to_the_glossary(path: Path):
    assert any("](glossary.md)" in c.source for c in _cells(path) if c.cell_type == "markdown"), \
        f"{path.name}: link the glossary from the introduction: [глосарії](glossary.md)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_uses_a_word_the_glossary_avoids(path: Path):
    found = []
    for i, cell in enumerate(_cells(path)):
        for term, _english, _where, avoided in TERMS:
            for word in filter(None, (w.strip() for w in avoided.split(","))):
                if hit := pattern(word).search(cell.source):
                    found.append(f"cell {i}: «{hit.group(0)}» — the glossary's term is «{term}»")
    assert not found, f"{path.name}:\n" + "\n".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_has_a_known_misspelling(path: Path):
    found = [f"cell {i}: «{hit.group(0)}» — write «{right}»"
             for i, cell in enumerate(_cells(path))
             for wrong, right in MISSPELLINGS if (hit := pattern(wrong).search(cell.source))]
    assert not found, f"{path.name}:\n" + "\n".join(found)


@pytest.mark.parametrize("row", [r for r in TERMS if r[2] not in ("", "—")], ids=lambda r: r[0])
def test_each_term_appears_where_the_glossary_says_it_is_introduced(row):
    term, english, where, _avoided = row
    path = _notebook(where)
    text = _section(_cells(path), where)
    assert text, f"{path.name} has no section «## {where.split('§')[-1].strip()}.» (the glossary says {where})"
    missing = [word for word in term.split() if not pattern(word).search(text)]
    assert not missing, f"«{term}» ({english}) is not in {path.name} {where}: fix the notebook or the glossary"


def test_the_patterns_match_other_forms_and_leave_other_words_alone():
    assert pattern("клітинка").search("виконайте наступну клітинку")
    assert pattern("комірка").search("Перша комірки") and not pattern("комірка").search("комар")
    assert pattern("невірний").search("Невірного пароля")
    assert pattern("проект").search("у проекті") and not pattern("проект").search("у проєкті")
    assert pattern("отримувач").search("отримувача") and not pattern("отримувач").search("отримувати")
    assert pattern("неперевірене повідомлення").search("неперевірене\nповідомлення")
    assert pattern("`code` → `code`").search("поля: `code` → `code`, `message`")
