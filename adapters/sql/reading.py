"""The read side's engines and its one way of running a query.

A query is one statement on a pooled connection, with no transaction around it
on PostgreSQL (autocommit: no BEGIN/ROLLBACK round trips) and a deferred one on
SQLite (which in WAL mode never waits for a writer). A read that loses its
connection (the server restarted under it) is run once more on a fresh one: it
is a single idempotent SELECT, and the second try either answers or fails fast
with `StorageUnavailable` when the database is really gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Executable, RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.failures import ConnectionLost


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """On PostgreSQL, queries run in autocommit mode: a single SELECT needs no
    BEGIN/ROLLBACK round trips. SQLite reads begin a deferred transaction, which
    in WAL mode never waits for a writer."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


async def fetch_all(
    engine: AsyncEngine, statement: Executable, parameters: dict[str, Any] | None = None
) -> Sequence[RowMapping]:
    """Every row of one read, as mappings (one round trip on PostgreSQL)."""
    try:
        return await _fetch(engine, statement, parameters)
    except ConnectionLost:
        return await _fetch(engine, statement, parameters)


async def fetch_first(
    engine: AsyncEngine, statement: Executable, parameters: dict[str, Any] | None = None
) -> RowMapping | None:
    rows = await fetch_all(engine, statement, parameters)
    return rows[0] if rows else None


async def _fetch(
    engine: AsyncEngine, statement: Executable, parameters: dict[str, Any] | None
) -> Sequence[RowMapping]:
    async with engine.connect() as connection:
        result = await connection.execute(statement, parameters)
        return result.mappings().all()
