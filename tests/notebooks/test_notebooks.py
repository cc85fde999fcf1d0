"""Every course notebook runs top to bottom against the live stack, and is committed clean."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# The session's lab with its addresses in the environment: session fixtures of single services (crm, inspector, ...)
# may have pointed LAB_<NAME>_URL at services of their own, which the lab's Prometheus does not scrape.
from tests.monitoring.conftest import lab_env  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _id(path: Path) -> str:
    return path.stem


# What some cells must show, not only run: (notebook, a line of the cell's source) -> text in its output.
EXPECTED = {
    ("04-event-driven", "resp.status_code, order[\"status\"], order[\"stock\"], order[\"payment\"]"): "(201, 'pending'",
    ("04-event-driven", "order[\"status\"], order[\"stock\"], order[\"payment\"], order[\"waybill\"]"): "('shipped', 'reserved', 'paid', '2045",
    ("04-event-driven", "before - requests.get"): "2",
    ("04-event-driven", "offline.status_code"): "201",
    ("04-event-driven", "await_order(offline.json()"): "'shipped'",
    ("04-event-driven", "before == {k: after[k] for k in before}"): "True",
    ("04-event-driven", "requests.get(f\"{url('inventory')}/api/reservations/{declined"): "'released'",
    ("05-microservices", "anonymous.status_code, requests.get("): "(401, 200)",
    ("05-microservices", "orders_calls.counts()"): "([201], [200])",  # every call answered while catalog restarted
    ("05-microservices", "sync.status_code, sync.json()[\"stock\"], async_"): "(201, 'reserved', 201, 'pending')",
    ("05-microservices", "(sync.status_code, sync.headers.get(\"X-Fallback\")), async_"): "((202, 'catalog-unreachable'), 201)",
    ("05-microservices", "set(served), [r[\"instance\"]"): "({'catalog'}, ['catalog'])",
    ("05-microservices", "without = burst("): "answers {(202, 'catalog-unreachable'): 40}",
    ("05-microservices", "quick.status_code, quick.headers"): "(202, 'circuit-open', True)",
    ("05-microservices", "answers.append(place("): "201]",
    ("05-microservices", "print(watch)"): " s half-open → +",
    ("05-microservices", "declined[\"status\"], declined[\"failed_step\"]"): "('compensated', 'charge_payment', 'rejected')",
    ("05-microservices", "far[\"total\"] * 100"): "(54900, 54900)",
    ("05-microservices", "params={\"order_id\": short[\"saga_id\"]}"): "[('ABC', 'released')]",
    ("05-microservices", "restore()"): "[]",  # the notebook put back everything it changed
    ('08-integration-practice', 'statuses, requests.get(f"{MAILER}/3.0/lists/{LIST}", auth=MC).json()["stats"]["member_count"] == len(customers)'): 'True)',
    ('08-integration-practice', 'kyiv["name"], kyiv["member_count"]'): "('Клієнти з Києва', 2)",
    ('08-integration-practice', '[(a["type"], a["subject"][:40]) for a in session.get'): "'email_opened'",
    ('08-integration-practice', 'requests.get(f"{SHOP}/api/products/{phone[\'id\']}").json()["in_stock"]'): 'False',
    ('08-integration-practice', 'shipped["status"], shipped["waybill"]'): "'2045",
    ('08-integration-practice', '[(i["number"], i["amount"], i["paid"], i["status"]) for i in invoices]'): "455.49, 455.49, 'paid')",
    ('08-integration-practice', 'requests.post(f"{ACCOUNTING}/liqpay/callback", data=liqpay(paid)).json()["recorded"]'): 'True',
    ('08-integration-practice', 'forged.status_code, forged.json()["error"]["code"]'): "(401, 'INVALID_SIGNATURE')",
    ('08-integration-practice', '{m["order_id"]: m["kind"] for m in report["mismatches"]}'): "'underpaid'",
    ('08-integration-practice', 'resp = requests.post(f"{MIDDLEWARE}/webhooks/orders", json=new_order(f"order-1001-{RUN}")'): 'new-order success',
    ('08-integration-practice', 'again.status_code, again.json()["duplicate"]'): '(200, True, 1)',
    ('08-integration-practice', 'failed = requests.post(f"{MIDDLEWARE}/webhooks/orders"'): 'new-order error',
    ('08-integration-practice', 'replayed["status"], replayed["replays"]'): "('success', 1, [1, 1, 1, 1, 1, 1], 1)",
    ('08-integration-practice', 'refused["execution"]["failed_step"]'): "('warehouse_reserve', 1,",
    ('08-integration-practice', 'len(up), [job for job, ok in up.items() if ok != 1]'): ", [], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])",
    ('08-integration-practice', 'title="запитів за секунду, по сервісах"'): "job=middleware",
    ('08-integration-practice', 'title="p95 часу відповіді"'): "job=middleware",
    ('08-integration-practice', "statuses, query('rate_limit_violations_total"): "429, 429, 429, 429, 429], True)",
    ('08-integration-practice', 'if g["name"] == "integration-lab" for r in g["rules"]]'): "('HighErrorRate', '', 10, 'ok')",
    ('08-integration-practice', 'fired = watch_alert("HighErrorRate"'): "firing HighErrorRate {'job': 'crm'",
    ('08-integration-practice', 'requests/{fired.number}").json()'): "('Alertmanager/",
    ('08-integration-practice', 'resolved = watch_alert("HighErrorRate", "resolved"'): "resolved HighErrorRate",
    ('08-integration-practice', 'notifications(since)'): "resolved HighErrorRate {'job': 'crm'",
    ('08-integration-practice', 'title="crm: запитів за секунду, за статусом відповіді"'): "status=500",
    ('08-integration-practice', "worst = query('topk(3, sum by (job)"): "('crm', 0.",  # the answer to «Спробуйте»
    ('08-integration-practice', 'trail.services, trail[0]'): "'action': 'crm_contact_start'",
    ('08-integration-practice', 'request_log(failed["execution"]["request_id"])'): 'action="warehouse_reserve_error"',
    ('08-integration-practice', 'restore(["crm", "warehouse", "shop"])'): "[]",  # the notebook put back what it changed
    ('08-integration-practice', 'verifier.results["result"]'): 'True',
    ('08-integration-practice', '    check_v2.verify()'): 'verification failed',
    ('08-integration-practice', 'outcome = test_an_order_reaches_every_system()'): "'passed'",
    ('08-integration-practice', 'stopped["failed_step"], {s["name"]'): "('payment',",  # the answer to «Спробуйте»
}


def _shown(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_runs_top_to_bottom(path: Path, lab_env):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{str(exc)[-3000:]}")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    for (stem, line), wanted in EXPECTED.items():
        if stem == path.stem:
            [cell] = [c for c in nb.cells if c.cell_type == "code" and line in c.source]
            assert wanted in _shown(cell), f"{path.name}: the cell with {line!r} shows {_shown(cell)[:300]!r}"


@pytest.mark.parametrize("path", sorted(ROOT.glob("*/*.ipynb")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_is_committed_without_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them (scripts/strip_notebooks.py)"


def test_notebooks_sort_in_course_order():
    names = [p.name for p in NOTEBOOKS]
    assert names[:3] == ["00-start-here.ipynb", "01-rest-basics.ipynb", "02-rest-auth-errors-versions.ipynb"]
