"""Predict-then-run questions: verdicts, the widget's one-shot form, and the text they degrade to."""
from __future__ import annotations

import sys

import nbformat
import pytest
from nbclient import NotebookClient

from labkit import quiz

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def question() -> quiz.Prediction:
    return quiz.predict(["200 і дані", "401 Unauthorized", "404 Not Found"], answer="401 Unauthorized",
                        why="Без ключа сервер не знає, хто ви.", question="Що відповість сервер без ключа?")


def test_answer_may_be_given_by_index_or_by_text(question):
    assert question.answer == 1
    assert quiz.predict(["так", "ні"], answer=0).answer == 0


@pytest.mark.parametrize("choice", [1, "б", "Б)", "b", "401 Unauthorized"])
def test_check_accepts_an_index_a_letter_or_the_option_text(question, choice):
    verdict = question.check(choice)
    assert verdict.correct and verdict.chosen == "б) 401 Unauthorized"
    assert verdict.text.startswith("✓ Так.") and "не знає, хто ви" in verdict.text


def test_a_wrong_prediction_names_the_right_option_and_why(question):
    verdict = question.check("в")
    assert not verdict.correct
    assert "Правильна відповідь: б) 401 Unauthorized." in verdict.text
    assert "не знає, хто ви" in verdict.text and "наступну клітинку" in verdict.text
    assert "#cf222e" in verdict._repr_html_()


def test_check_rejects_an_option_that_is_not_there(question):
    with pytest.raises(ValueError, match="оберіть літеру \\(а, б, в\\)"):
        question.check("г")


@pytest.mark.parametrize("options, answer", [(["одна"], 0), (["а", "б"], 2), (["а", "б"], "в"), (["а", "б"], True)])
def test_a_malformed_question_is_refused_with_a_sentence(options, answer):
    with pytest.raises(ValueError, match=r"\.$"):
        quiz.predict(options, answer=answer)


def test_the_widget_asks_for_a_choice_before_it_judges(question):
    question.widget()
    assert question.submit() is None
    assert "оберіть один варіант" in question.feedback.value
    assert not question.choices.disabled


def test_the_widget_locks_the_prediction_and_shows_the_verdict(question):
    question.widget()
    question.choices.value = 0
    question.button.click()
    assert question.verdict is not None and not question.verdict.correct
    assert question.choices.disabled and question.button.disabled
    assert "Правильна відповідь: <b>б) 401 Unauthorized</b>" in question.feedback.value


def test_outside_a_kernel_it_is_text_with_the_answer_folded_in_html(question):
    bundle = question._repr_mimebundle_()
    assert WIDGET_VIEW not in bundle
    assert bundle["text/plain"].splitlines()[:4] == [
        "Прогноз: Що відповість сервер без ключа?", "  а) 200 і дані", "  б) 401 Unauthorized", "  в) 404 Not Found"]
    assert "<details><summary>Відповідь" in bundle["text/html"]
    assert "<b>б) 401 Unauthorized</b>" in bundle["text/html"].split("<details>")[1]


def test_without_ipywidgets_a_kernel_still_gets_the_text(question, monkeypatch):
    monkeypatch.setattr(quiz, "_live_kernel", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    bundle = question._repr_mimebundle_()
    assert WIDGET_VIEW not in bundle and "б) 401 Unauthorized" in bundle["text/plain"]


def test_in_a_live_kernel_it_is_a_widget_with_a_text_fallback():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'from labkit import predict\npredict(["так", "ні"], answer="ні", why="Бо.")')])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    [output] = nb.cells[0].outputs
    assert output["output_type"] == "execute_result"
    assert WIDGET_VIEW in output["data"]
    assert output["data"]["text/plain"].startswith("Ваш прогноз?\n  а) так\n  б) ні")
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["model_name"] == "RadioButtonsModel" for m in state.values())
