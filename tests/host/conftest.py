from __future__ import annotations

import pytest

from tests.conftest import TOY_ENV, running_host


@pytest.fixture(scope="module")
def pair_host(tmp_path_factory):
    with running_host(["toy", "inspector"], tmp_path_factory.mktemp("host"), TOY_ENV) as stack:
        yield stack
