"""Notebook 07 once more, against Tansu: it must run top to bottom on the fallback broker too.

tests/notebooks/test_notebooks.py runs every notebook (06 and 07 among them) against the
session's stack with Apache Kafka; this runs 07 with LAB_KAFKA_BOOTSTRAP pointing at Tansu.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
KAFKA_NOTEBOOK = ROOT / "notebooks" / "07-kafka.ipynb"


@pytest.mark.notebook
def test_kafka_notebook_runs_top_to_bottom_on_tansu(lab_stack, tansu_stack, monkeypatch):
    [tansu] = tansu_stack.components
    monkeypatch.setenv("LAB_KAFKA_BOOTSTRAP", tansu.address)  # the kernel inherits it
    nb = nbformat.read(KAFKA_NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(KAFKA_NOTEBOOK.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{KAFKA_NOTEBOOK.name} failed on Tansu:\n{str(exc)[-3000:]}")
    outputs = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                      for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "'Tansu'" in outputs  # it knew which broker it ran on
    assert "Tansu тримає події в пам'яті й не застосовує retention" in outputs
