"""Fixtures for the grader's tests: solution, starter, partial and hostile notebooks on disk.

Hostile submissions live in ``fixtures/hostile/*.py``: each is one cell of hostile
code with a header saying which notebook it goes into (``base: solution|starter``),
where (``at: middle|end``) and what the grader must make of it
(``expect: <status> <points>``). They are built on ex03, which needs no lab service.
Those in ``fixtures/hostile_brokers/*.py`` go into a broker exercise's solution
(``exercise: ex08``) and name the connections the grader must cut (``cut: ...``).
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from labkit import config
from labkit.grading import notebook

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"
HOSTILE_BROKERS = Path(__file__).resolve().parent / "fixtures" / "hostile_brokers"


# ex07's services, as the grader starts them: the catalog's two copies register with this registry; no bus.
MICRO_SERVICES = ("catalog", "catalog-2", "registry", "payments", "shipping", "carrier")
NO_BUS = "amqp://guest:guest@127.0.0.1:9"  # nothing listens: their event buses stay idle, and nobody else's queue


@pytest.fixture(scope="package")
def micro_services(tmp_path_factory: pytest.TempPathFactory):
    """ex07's services in one host on free ports (addresses in os.environ meanwhile); yields {name: URL}."""
    import requests

    from labkit import config
    from labkit.procs import wait_until
    from tests.conftest import running_host

    env = {"LAB_AMQP_URL": NO_BUS, "REGISTRY_CHECK_INTERVAL_S": "0.5", "LAB_DISCOVERY_TTL_S": "5"}
    session_amqp = os.environ.get("LAB_AMQP_URL")
    with running_host(list(MICRO_SERVICES), tmp_path_factory.mktemp("micro-grading"), env):
        # The host has its dead bus address; the rest of the package (broker exercises' leases) needs the real one.
        if session_amqp is None:
            os.environ.pop("LAB_AMQP_URL", None)
        else:
            os.environ["LAB_AMQP_URL"] = session_amqp
        found = {name: config.url(name) for name in MICRO_SERVICES}
        assert wait_until(lambda: len(requests.get(found["registry"] + "/api/services/catalog", timeout=5).json()) == 2
                          if requests.get(found["registry"] + "/api/services/catalog", timeout=5).status_code == 200
                          else False, timeout=20), "the catalog's copies never registered"
        yield found


def solution_path(ex_id: str) -> Path:
    return next(SOLUTIONS.glob(f"{ex_id}-*.ipynb"))


def starter_path(ex_id: str) -> Path:
    return next(EXERCISES.glob(f"{ex_id}-*.ipynb"))


def graded_solution_and_starter(ex_id: str, tmp_path: Path, timeout: int = 120, step_timeout: int = 30) -> dict:
    """`lab grade` of the solution (alice) and the starter (bob) of ``ex_id``; the gradebook's rows by student."""
    import csv
    import shutil

    from labkit.grading import batch
    from labkit.grading.sandbox import Limits

    subs = tmp_path / "subs"
    for student, path in (("alice", solution_path(ex_id)), ("bob", starter_path(ex_id))):
        (subs / student).mkdir(parents=True)
        shutil.copy(path, subs / student / path.name)
    batch.grade(subs, tmp_path / "out", limits=Limits(timeout=timeout, step_timeout=step_timeout), workers=2)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def last_check_after_running(path: Path, timeout: int = 120) -> str:
    """Run a notebook top to bottom in a kernel; the first line its last ``check(...)`` cell printed."""
    from nbclient import NotebookClient

    nb = notebook.read(path)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    last = [c for c in nb.cells if c.cell_type == "code" and "check(" in c.source][-1]
    return "".join(o.get("data", {}).get("text/plain", "") for o in last.outputs)


@dataclass(frozen=True)
class Hostile:
    name: str
    base: str
    at: str
    status: str
    points: int
    source: str


def hostile_cases() -> list[Hostile]:
    cases = []
    for path in sorted(HOSTILE.glob("*.py")):
        text = path.read_text()
        header = dict(re.findall(r"^# (base|at|expect): (.+)$", text, re.MULTILINE))
        status, points = header["expect"].split()
        cases.append(Hostile(path.stem, header["base"], header["at"], status, int(points), text))
    return cases


def with_cell(source_nb: Path, code: str, at: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(notebook.read(source_nb))
    cell = nbformat.v4.new_code_cell(code)
    cell.id = "hostile"
    position = len(nb.cells) if at == "end" else len(nb.cells) // 2
    nb.cells.insert(position, cell)
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notebook.dumps(nb), encoding="utf-8")
    return path


def hostile_notebook(case: Hostile, path: Path) -> Path:
    base = solution_path("ex03") if case.base == "solution" else starter_path("ex03")
    return write(with_cell(base, case.source, case.at), path)


PARTIAL_BREAKS = {
    # ex03 with two mistakes: no Location header, DELETE answers 200. Loses location (2) and delete (2).
    'response.headers["Location"] = f"/api/customers/{new_id}"': "pass",
    "return Response(status_code=204)": "return Response(status_code=200)",
}
PARTIAL_LOST = {"ex03.location", "ex03.delete"}


def partial_notebook(path: Path) -> Path:
    nb = copy.deepcopy(notebook.read(solution_path("ex03")))
    for cell in nb.cells:
        for old, new in PARTIAL_BREAKS.items():
            cell.source = cell.source.replace(old, new)
    return write(nb, path)


@dataclass(frozen=True)
class HostileBroker:
    name: str
    exercise: str
    at: str
    status: str
    points: int
    cut: tuple[str, ...]
    source: str


def hostile_broker_cases() -> list[HostileBroker]:
    cases = []
    for path in sorted(HOSTILE_BROKERS.glob("*.py")):
        text = path.read_text()
        header = dict(re.findall(r"^# (exercise|at|expect): (.+)$", text, re.MULTILINE))
        status, points = header["expect"].split()
        cut = tuple(re.findall(r"^# cut: (.+)$", text, re.MULTILINE))
        cases.append(HostileBroker(path.stem, header["exercise"], header["at"], status, int(points), cut, text))
    return cases


def hostile_broker_notebook(case: HostileBroker, path: Path) -> Path:
    return write(with_cell(solution_path(case.exercise), case.source, case.at), path)


# A broker exercise with one mistake, in the function named: (what to replace, the checks it loses).
BROKER_PARTIALS = {
    # One wrong binding: `#` is any number of words, so error.payment.card reaches the errors queue too.
    "ex08": ("setup_log_routing", {'("errors", "error.*")': '("errors", "error.#")'}, {"ex08.route_errors"}),
    # A cancellation that overtakes its order is dropped, so the order is reserved when it comes.
    "ex06": ("handle_order_cancelled",
             {"tx.execute(\"INSERT INTO reservations VALUES (?, 'cancelled', '[]')\", (order_id,))": "pass"},
             {"ex06.reordering"}),
    # A replay without seek_to_beginning: a consumer without a group starts at the end and reads nothing.
    "ex09": ("rebuild_totals", {"consumer.seek_to_beginning()": "pass"}, {"ex09.replay"}),
}


def broker_partial_notebook(ex_id: str, path: Path) -> Path:
    function, breaks, _ = BROKER_PARTIALS[ex_id]
    nb = copy.deepcopy(notebook.read(solution_path(ex_id)))
    for cell in nb.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            for old, new in breaks.items():
                assert old in cell.source, (ex_id, old)
                cell.source = cell.source.replace(old, new)
    return write(nb, path)


@pytest.fixture
def make_notebook(tmp_path):
    """Write a notebook built from code cells; returns its path."""

    def make(cells: list[str], name: str = "ex03-test.ipynb", exercise: str = "ex03") -> Path:
        nb = nbformat.v4.new_notebook()
        nb.metadata["labkit"] = {"exercise": exercise}
        for i, src in enumerate(cells):
            cell = nbformat.v4.new_code_cell(src)
            cell.id = f"c{i}"
            nb.cells.append(cell)
        return write(nb, tmp_path / name)

    return make


# --- ex10's systems: notebook 08's CRM, warehouse, mailer and mailbox, in one host with the carrier ---------


@pytest.fixture(scope="package")
def practice_lab(shop_url, tmp_path_factory):
    """CRM, warehouse, mailer, mailbox and carrier as `lab up` runs them; the warehouse syncs the session's shop."""
    from labkit.procs import free_port
    from tests.conftest import running_host

    with running_host(["crm", "warehouse", "mailer", "mailbox", "carrier"], tmp_path_factory.mktemp("practice"),
                      {"LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}):
        yield


@pytest.fixture(scope="package")
def crm_url(practice_lab) -> str:
    return config.url("crm")


@pytest.fixture(scope="package")
def warehouse_url(practice_lab) -> str:
    return config.url("warehouse")


@pytest.fixture(scope="package")
def mailer_url(practice_lab) -> str:
    return config.url("mailer")


@pytest.fixture(scope="package")
def mailbox_url(practice_lab) -> str:
    return config.url("mailbox")
