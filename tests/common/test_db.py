"""The SQLite helpers every service shares."""
from labservices.common.db import where_clause


def test_where_clause_keeps_only_the_conditions_given():
    assert where_clause([("a = ?", 1), ("b = ?", None), ("c >= ?", 0)]) == ("WHERE a = ? AND c >= ?", [1, 0])


def test_where_clause_without_conditions_is_empty():
    assert where_clause([("a = ?", None)]) == ("", [])
