"""The notebooks teach, not only demonstrate: predictions before key cells, an answer for every «Спробуйте»,
sequence diagrams where the order of messages is the point, and short cells.
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Where a sequence diagram must show the order of messages, and a phrase it must contain.
SEQUENCES = {
    "02": ["/oauth/token"],                        # OAuth2 client credentials, then the token on each call
    "03": ["503"],                                 # a webhook delivery retried on the lecture's schedule
    "06": ["redelivered=True", "correlation_id"],  # ack and redelivery; RPC over a reply queue
    "07": ["JoinGroup", "ISR"],                    # a consumer-group rebalance; replication with acks='all'
}


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _folded(cell, outputs: bool = False) -> bool:
    flags = cell.metadata.get("jupyter", {})
    return bool(flags.get("source_hidden")) and (not outputs or bool(flags.get("outputs_hidden")))


def _is_prediction(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith("predict(")


def _ids(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_each_notebook_asks_for_three_predictions_or_more(path: Path):
    count = sum(_is_prediction(c) for c in _cells(path))
    assert count >= 3, f"{path.name} has {count} predict(...) cells; put one before each key outcome"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_a_prediction_is_folded_and_the_cell_it_predicts_comes_next(path: Path):
    cells = _cells(path)
    for i, cell in enumerate(cells):
        if _is_prediction(cell):
            assert _folded(cell), f"{path.name} cell {i}: fold the prediction's source (its answer is in it)"
            after = cells[i + 1]
            assert after.cell_type == "code" and not _folded(after), \
                f"{path.name} cell {i}: the cell that shows the outcome must follow the prediction directly"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_every_try_it_prompt_has_a_folded_answer_before_the_next_section(path: Path):
    cells = _cells(path)
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or "Спробуйте" not in cell.source:
            continue
        answered = False
        for later in cells[i + 1:]:
            if later.cell_type == "markdown" and re.search(r"^#{1,3} ", later.source, re.M):
                break
            answered = answered or _folded(later, outputs=True)
        assert answered, f"{path.name} cell {i}: «Спробуйте» needs a folded answer cell before the next heading"


def test_notebook_00_keeps_every_code_cell_to_three_lines():
    [start] = [p for p in NOTEBOOKS if p.name.startswith("00-")]
    long = [i for i, c in enumerate(_cells(start)) if c.cell_type == "code" and len(c.source.splitlines()) > 3]
    assert not long, f"{start.name}: code cells {long} are longer than three lines"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_code_cells_are_short_on_the_median(path: Path):
    lengths = [len(c.source.splitlines()) for c in _cells(path) if c.cell_type == "code" and not _folded(c)]
    assert statistics.median(lengths) <= 5, f"{path.name}: median code cell is {statistics.median(lengths)} lines"


@pytest.mark.parametrize("number, phrases", SEQUENCES.items())
def test_order_of_messages_is_drawn_as_a_sequence_diagram(number: str, phrases: list[str]):
    [path] = [p for p in NOTEBOOKS if p.name.startswith(number + "-")]
    diagrams = [block for c in _cells(path) if c.cell_type == "markdown"
                for block in re.findall(r"```mermaid\n(.*?)```", c.source, re.S) if block.startswith("sequenceDiagram")]
    for phrase in phrases:
        assert any(phrase in d for d in diagrams), f"{path.name}: no sequence diagram shows «{phrase}»"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_no_mermaid_message_holds_a_semicolon(path: Path):
    # A ';' ends a mermaid statement, so "A; B" in a message breaks the diagram (test_mermaid.py draws them all
    # where Chromium is installed; this catches the commonest mistake everywhere).
    lines = [line.strip() for c in _cells(path) if c.cell_type == "markdown"
             for block in re.findall(r"```mermaid\n(.*?)```", c.source, re.S) for line in block.splitlines() if ";" in line]
    assert not lines, f"{path.name}: write ',' instead of ';' in: {lines}"
