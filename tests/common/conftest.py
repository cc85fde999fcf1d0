"""Two services in one host process, for what crosses services: request ids, trace context, spans."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.conftest import TOY_ENV, running_host


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The toy and the inspector in one host, spans written to this module's own traces file."""
    home = tmp_path_factory.mktemp("pair")
    with running_host(["toy", "inspector"], home, {**TOY_ENV, "LAB_TRACES_FILE": str(home / "traces.sqlite3")}) as s:
        yield s
