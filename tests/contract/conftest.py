from __future__ import annotations

import pytest

from tests.contract.backends import Backend, memory_backend


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> Backend:
    assert request.param == "memory"
    return memory_backend()
