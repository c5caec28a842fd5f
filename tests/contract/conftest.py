from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.contract.backends import Backend, memory_backend, sql_backend


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Every contract test runs on each backend; the SQL ones get an empty database."""
    if request.param == "memory":
        return memory_backend()
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return sql_backend(request.param, engine)
