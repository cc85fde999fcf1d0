"""check() in the student's kernel: full marks for solutions, clear messages for every kind of failure."""
from __future__ import annotations

import pytest
from nbclient import NotebookClient

from labkit import check as check_module
from labkit.check import check
from labkit.grading import catalog, notebook
from labkit.grading.child import without_check_calls
from labkit.procs import free_port

from .conftest import solution_path, starter_path

POINTS = {"ex01": 14, "ex02": 16, "ex03": 17}


def run_cells(sources: list[str]) -> dict:
    """Run code cells (without their check calls) into a fresh namespace, as a kernel would, ``In`` included."""
    ns: dict = {"__name__": "__main__", "In": list(sources)}  # IPython's input history
    for index, source in enumerate(sources, start=1):
        try:
            exec(compile(without_check_calls(source), f"<cell {index}>", "exec"), ns)
        except Exception:  # noqa: BLE001 - a demo cell calling a stub or a stopped shop, as in a kernel
            pass
    return ns


def namespace_of(path) -> dict:
    """A notebook's code cells run as a kernel would run them."""
    return run_cells([c["source"] for c in notebook.code_cells(notebook.read(path))])


@pytest.mark.parametrize("ex_id", ["ex01", "ex02", "ex03"])
def test_solution_scores_full_marks_in_the_kernel(shop_url, ex_id):
    feedback = check(ex_id, namespace=namespace_of(solution_path(ex_id)))
    assert (feedback.score, feedback.max_score) == (POINTS[ex_id], POINTS[ex_id]), str(feedback)


@pytest.mark.parametrize("ex_id", ["ex01", "ex02", "ex03"])
def test_starter_scores_zero_and_says_not_implemented(shop_url, ex_id):
    feedback = check(ex_id, namespace=namespace_of(starter_path(ex_id)))
    assert feedback.score == 0
    for result in feedback.reports[0].results:
        assert not result.passed
        assert "ще не реалізовано" in result.message, result


def test_student_exception_is_a_message_not_a_traceback(shop_url):
    def find_products(category, price_max):
        return {}["data"]

    feedback = check("ex01", namespace={"find_products": find_products})
    result = feedback.reports[0].results[0]
    assert result.check == "ex01.find_products" and not result.passed
    assert result.message == "`find_products` кинула виняток KeyError: 'data'."
    assert "Traceback" not in str(feedback)


def test_wrong_return_type_is_named(shop_url):
    import requests

    ns = {"find_products": lambda c, p: requests.get(shop_url + "/api/products"),
          "get_product": lambda i: {"id": i}}
    results = {r.check: r for r in check("ex01", namespace=ns).reports[0].results}
    assert "повернула об'єкт типу Response, а не дані JSON" in results["ex01.find_products"].message
    assert not results["ex01.get_product"].passed
    assert results["ex01.get_product"].expected.startswith("get_product(")


def test_missing_function_says_the_step_is_still_ahead(shop_url):
    result = check("ex01", namespace={}).reports[0].results[1]
    assert result.message == ("`all_products` ще не означено: цей крок ще попереду. Коли дійдете до нього й "
                              "виконаєте клітинку, перевірка його зарахує (а якщо вже виконали, перевірте назву).")


def test_service_down_gives_one_clear_notice_and_zero_points(monkeypatch):
    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LAB_SHOP_URL", down)
    feedback = check("ex01", namespace=namespace_of(solution_path("ex01")))
    report = feedback.reports[0]
    assert report.notices == [f"Сервіс shop не відповідає за адресою {down}. Запустіть стек командою `lab up` "
                              "(або перевірте змінну LAB_SHOP_URL) і запустіть перевірку ще раз."]
    assert feedback.score == 0 and all(r.message == "Не перевірено: сервіс недоступний." for r in report.results)


def test_unknown_exercise_lists_the_known_ones():
    known = ", ".join(catalog.course_exercises())
    assert str(check("ex99", namespace={})) == f"! Невідома вправа 'ex99'. Доступні: {known}."


def test_check_without_argument_runs_the_exercises_this_namespace_defines(shop_url):
    feedback = check(namespace=namespace_of(solution_path("ex03")))
    assert [r.exercise for r in feedback.reports] == ["ex03"]
    assert feedback.score == 17


def test_feedback_renders_as_html_and_text(shop_url):
    feedback = check("ex03", namespace=namespace_of(starter_path("ex03")))
    html, text = feedback._repr_html_(), str(feedback)
    assert "<table>" in html and "✗" in html and "підказка" in html
    assert text.splitlines()[0] == "ex03 · REST-сервер на FastAPI: 0/17"
    assert "  ✗ 0/2  POST /api/customers створює клієнта" in text and "підказка: Поверніть статус 201" in text


def test_check_is_callable_as_imported_from_labkit():
    assert callable(check_module)
    assert "Невідома вправа" in str(check_module("nope", namespace={}))


def test_check_is_silent_while_lab_grade_runs_the_notebook(monkeypatch):
    monkeypatch.setenv("LAB_GRADING", "1")
    assert check("ex01").reports == []


@pytest.mark.parametrize("ex_id", ["ex01", "ex02", "ex03"])
def test_solution_notebook_runs_top_to_bottom_in_a_kernel_with_full_marks(shop_url, ex_id):
    path = solution_path(ex_id)
    nb = notebook.read(path)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    last = [c for c in nb.cells if c.cell_type == "code" and "check(" in c.source][-1]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in last.outputs)
    assert text.startswith(f"{ex_id} · ") and f": {POINTS[ex_id]}/{POINTS[ex_id]}" in text.splitlines()[0], text
    assert "<table>" in "".join(o.get("data", {}).get("text/html", "") for o in last.outputs)


def shop_products(shop_url) -> list[tuple]:
    import requests

    found, page = [], 1
    while True:
        body = requests.get(shop_url + "/api/products", params={"page": page, "per_page": 100}, timeout=10).json()
        found += [(p["id"], p["title"], p["price"]) for p in body["data"]]
        if page >= body["pagination"]["total_pages"]:
            return found
        page += 1


@pytest.mark.parametrize("ex_id", ["ex01", "ex02"])
def test_check_leaves_the_students_shop_as_it_was(shop_url, ex_id):
    """The checks create products (and the student's code does, for them): all are deleted afterwards."""
    before = shop_products(shop_url)
    feedback = check(ex_id, namespace=namespace_of(solution_path(ex_id)))
    assert feedback.score == POINTS[ex_id], str(feedback)
    assert shop_products(shop_url) == before


def test_check_keeps_the_students_own_products(shop_url):
    import requests

    from labkit.grading.exercises.shopapi import CHECKER_CLIENT

    token = requests.post(shop_url + "/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": CHECKER_CLIENT[0], "client_secret": CHECKER_CLIENT[1]}).json()
    made = requests.post(shop_url + "/api/products", json={"title": "Мій товар", "category": "books", "price": 10},
                         headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).json()
    check("ex01", namespace=namespace_of(solution_path("ex01")))
    assert requests.get(f"{shop_url}/api/products/{made['id']}", timeout=10).status_code == 200


def test_counts_in_feedback_take_the_right_plural_form(shop_url):
    from labkit.ukrainian import count

    total = len(shop_products(shop_url))
    feedback = check("ex01", namespace={"all_products": lambda category=None: []})
    result = {r.check: r for r in feedback.reports[0].results}["ex01.all_products"]
    assert result.expected == f"усі {count(total + 1, 'товар', 'товари', 'товарів')} з усіх сторінок"
    assert result.seen == "0 товарів"
    one = check("ex01", namespace={"all_products": lambda category=None: [{"id": 1}]})
    assert {r.check: r for r in one.reports[0].results}["ex01.all_products"].seen == "1 товар"
