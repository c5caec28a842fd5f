"""Engines for the read side."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """On PostgreSQL, queries run in autocommit mode: a single SELECT needs no
    BEGIN/ROLLBACK round trips. SQLite reads begin a deferred transaction, which
    in WAL mode never waits for a writer."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine
