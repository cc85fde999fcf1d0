"""Ukrainian plural forms, for every place feedback puts a number before a noun.

Ukrainian has three forms after a number: 1 товар, 21 товар (one); 2 товари, 24 товари (few);
5 товарів, 11 товарів, 14 товарів (many). A fraction takes the "few" form (1,5 секунди).
Give the three forms as the phrase needs them (``"подію", "події", "подій"`` after a verb).
"""
from __future__ import annotations


def plural(n: float, one: str, few: str, many: str) -> str:
    """The form of a noun (or a noun phrase) that goes after the number ``n``."""
    if isinstance(n, float) and not n.is_integer():
        return few
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def count(n: float, one: str, few: str, many: str) -> str:
    """``n`` and the noun in its form: ``count(5, "товар", "товари", "товарів")`` is ``"5 товарів"``."""
    return f"{n} {plural(n, one, few, many)}"
