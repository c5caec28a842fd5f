"""The database as a readiness probe."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.health import HealthProbe


class DatabaseProbe(HealthProbe):
    """Ready when a pooled connection answers `SELECT 1`; essential."""

    name = "database"
    essential = True

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check(self) -> bool:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
