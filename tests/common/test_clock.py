"""Timestamps as the lecture writes them, and exactly the text datetime gives for the same moment."""
from datetime import datetime, timezone

import pytest

from labservices.common.clock import iso


@pytest.mark.parametrize("ts", [0.0, 1707388245.0, 1707388245.1235, 1707388245.9994999, 1707388245.9999996,
                                1707388245.0004999, 1707388245.0005, 1707388245.0000004, -1.5, -0.0000004,
                                4102444799.9999999])
def test_iso_is_the_text_datetime_gives(ts):
    moment = datetime.fromtimestamp(ts, timezone.utc)
    assert iso(ts) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso(ts, ms=True) == moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_a_moment_that_rounds_up_to_the_next_second_is_stamped_with_it():
    assert iso(1707388245.9999996, ms=True) == "2024-02-08T10:30:46.000Z"
    assert iso(1707388245.9999996) == "2024-02-08T10:30:46Z"
