"""Ukrainian plural forms: one helper for every number before a noun."""
from __future__ import annotations

import pytest

from labkit.ukrainian import count, plural

PRODUCT = ("товар", "товари", "товарів")


@pytest.mark.parametrize("n, text", [(1, "1 товар"), (2, "2 товари"), (4, "4 товари"), (5, "5 товарів"),
                                     (11, "11 товарів"), (12, "12 товарів"), (14, "14 товарів"), (21, "21 товар"),
                                     (22, "22 товари"), (25, "25 товарів"), (0, "0 товарів"), (101, "101 товар"),
                                     (111, "111 товарів"), (112, "112 товарів"), (174, "174 товари"),
                                     (-1, "-1 товар")])
def test_count_uses_the_form_the_number_takes(n, text):
    assert count(n, *PRODUCT) == text


def test_a_fraction_takes_the_few_form_and_a_whole_float_its_number():
    assert plural(1.5, "секунда", "секунди", "секунд") == "секунди"
    assert plural(5.0, "секунда", "секунди", "секунд") == "секунд"
    assert plural(1.0, "секунда", "секунди", "секунд") == "секунда"


def test_the_feedback_that_was_wrong_now_agrees():
    assert f"усі {count(174, *PRODUCT)}" == "усі 174 товари"
    assert count(1, "консьюмер", "консьюмери", "консьюмерів") == "1 консьюмер"
