"""Predict, then run: a small multiple-choice question before a cell whose outcome it asks about.

In a notebook::

    from labkit import predict
    predict(["200 і дані користувача", "401 Unauthorized", "404 Not Found"], answer=1,
            why="Без ключа сервер не знає, хто ви: бракує автентифікації.")

In a live kernel this is an ipywidgets radio list with a «Мій прогноз» button: the student
commits to one option (the list locks), reads whether it was right and why, and then
runs the next cell to see it happen. Where no widget can be drawn (nbclient in the tests,
an HTML export, a frontend without the widget manager) the same question degrades to
text: the options, and the answer folded in a ``<details>`` in HTML, or written out in
plain text. ``Prediction.check("б")`` gives the same verdict without a widget.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

LETTERS = "абвгдеєжз"
LATIN = "abcdefghi"


@dataclass(frozen=True)
class Verdict:
    """What one prediction earned: right or not, the option chosen, the right one and why."""

    correct: bool
    chosen: str
    right: str
    why: str

    @property
    def text(self) -> str:
        head = "✓ Так." if self.correct else f"✗ Ні. Правильна відповідь: {self.right}."
        tail = "Виконайте наступну клітинку й переконайтеся."
        return " ".join(part for part in (head, self.why, tail) if part)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.correct else "#cf222e"
        head = "✓ Так." if self.correct else f"✗ Ні. Правильна відповідь: <b>{html.escape(self.right)}</b>."
        why = f" {html.escape(self.why)}" if self.why else ""
        return (f"<div><span style='color:{colour};font-weight:bold'>{head}</span>{why}"
                "<br><i>Виконайте наступну клітинку й переконайтеся.</i></div>")

    def __repr__(self) -> str:
        return self.text


class Prediction:
    """One multiple-choice question; drawn as a widget in a live kernel, as text elsewhere."""

    def __init__(self, options: Sequence[str], answer: int | str, why: str = "", question: str = "") -> None:
        self.options = [str(o) for o in options]
        if not 2 <= len(self.options) <= len(LETTERS):
            raise ValueError(f"A prediction needs 2 to {len(LETTERS)} options; got {len(self.options)}.")
        self.answer = self._index(answer)
        if self.answer is None:
            raise ValueError(f"answer={answer!r} is not one of the options: give its index (0-based) or its text.")
        self.why = why
        self.question = question
        self.verdict: Verdict | None = None
        self._widget = None

    def label(self, i: int) -> str:
        return f"{LETTERS[i]}) {self.options[i]}"

    def _index(self, choice: int | str) -> int | None:
        if isinstance(choice, bool):
            return None
        if isinstance(choice, int):
            return choice if 0 <= choice < len(self.options) else None
        text = str(choice).strip()
        if text in self.options:
            return self.options.index(text)
        key = text.lower().rstrip(")")
        for alphabet in (LETTERS, LATIN):
            if len(key) == 1 and key in alphabet[:len(self.options)]:
                return alphabet.index(key)
        return None

    def check(self, choice: int | str) -> Verdict:
        """The verdict on ``choice``: an option's index, its letter (``"б"`` or ``"b"``) or its text."""
        chosen = self._index(choice)
        if chosen is None:
            letters = ", ".join(LETTERS[:len(self.options)])
            raise ValueError(f"Варіанта {choice!r} немає: оберіть літеру ({letters}) або номер від 0 до "
                             f"{len(self.options) - 1}.")
        self.verdict = Verdict(chosen == self.answer, self.label(chosen), self.label(self.answer), self.why)
        return self.verdict

    # -- the widget -------------------------------------------------------------------------------------
    def widget(self):
        """The ipywidgets form: radio buttons, a «Мій прогноз» button, and the verdict under them."""
        if self._widget is None:
            import ipywidgets as w

            self.choices = w.RadioButtons(options=[(self.label(i), i) for i in range(len(self.options))],
                                          value=None, layout=w.Layout(width="auto"))
            self.button = w.Button(description="Мій прогноз", button_style="primary", icon="check")
            self.feedback = w.HTML()
            self.button.on_click(lambda _b: self.submit())
            title = w.HTML(f"<b>Прогноз.</b> {html.escape(self.question)}" if self.question
                           else "<b>Ваш прогноз?</b> Оберіть варіант, потім виконайте наступну клітинку.")
            self._widget = w.VBox([title, self.choices, self.button, self.feedback])
        return self._widget

    def submit(self) -> Verdict | None:
        """What the button does: lock the choice and show the verdict (or ask for a choice first)."""
        if self.choices.value is None:
            self.feedback.value = "<i>Спершу оберіть один варіант.</i>"
            return None
        verdict = self.check(self.choices.value)
        self.choices.disabled = self.button.disabled = True
        self.feedback.value = verdict._repr_html_()
        return verdict

    # -- displays ---------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"Прогноз: {self.question}" if self.question else "Ваш прогноз?"]
        lines += [f"  {self.label(i)}" for i in range(len(self.options))]
        lines.append(f"Відповідь: {self.label(self.answer)}." + (f" {self.why}" if self.why else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(self.label(i))}</li>" for i in range(len(self.options)))
        title = f"<b>Прогноз.</b> {html.escape(self.question)}" if self.question else "<b>Ваш прогноз?</b>"
        why = f" {html.escape(self.why)}" if self.why else ""
        return (f"<div>{title}<ul style='list-style:none'>{items}</ul><details><summary>Відповідь "
                f"(спершу оберіть подумки)</summary><b>{html.escape(self.label(self.answer))}</b>.{why}"
                "</details></div>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/plain": repr(self), "text/html": self._repr_html_()}
        if _live_kernel():
            try:
                view = self.widget()._repr_mimebundle_()
            except ImportError:  # no ipywidgets: the text is all there is
                return bundle
            bundle["application/vnd.jupyter.widget-view+json"] = view["application/vnd.jupyter.widget-view+json"]
        return bundle


def _live_kernel() -> bool:
    """True inside a Jupyter kernel, where a widget can reach a frontend."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def predict(options: Sequence[str], answer: int | str, why: str = "", question: str = "") -> Prediction:
    """Ask for a prediction before a cell runs: ``options``, the right ``answer`` (index or text) and ``why``."""
    return Prediction(options, answer, why, question)
