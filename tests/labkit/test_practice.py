"""labkit.practice draws a middleware run step by step, in text and HTML."""
from __future__ import annotations

from labkit.practice import run

EXECUTION = {"id": "exe_0123456789ab", "workflow": "new-order", "status": "error", "request_id": "req_1",
             "steps": [{"name": "crm_contact", "status": "success", "attempts": 1, "duration_ms": 12.3,
                        "output": {"contact_id": "003abc"}, "error": None},
                       {"name": "warehouse_reserve", "status": "error", "attempts": 3, "duration_ms": 1500.0,
                        "output": None, "error": "warehouse: 503 <down>"}]}


def test_a_run_is_drawn_step_by_step_with_its_outcome():
    text = repr(run({"execution": EXECUTION}))
    assert text.splitlines()[0] == "exe_0123456789ab new-order error"
    assert "✅ crm_contact" in text and "contact_id=003abc" in text and "спроб 3" in text
    page = run(EXECUTION)._repr_html_()
    assert "❌ warehouse_reserve" in page and "&lt;down&gt;" in page and "<code>req_1</code>" in page
