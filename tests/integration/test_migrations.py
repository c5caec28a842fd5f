"""Alembic owns the schema: every revision goes up and down on SQLite and
PostgreSQL, and the migrated schema matches the adapter's table metadata."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning

from adapters.sql.engine import create_database_engine
from adapters.sql.migrate import (
    alembic_config,
    current_revision,
    downgrade_database,
    upgrade_database,
)
from adapters.sql.tables import ALL_TABLES, metadata

TABLES = {table.name for table in ALL_TABLES}
#: Indexes that exist on one dialect only, outside the shared metadata.
DIALECT_ONLY_INDEXES = {"ix_events_search_text", "ix_events_city_prefix"}


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


async def tables(url: str) -> set[str]:
    engine = create_database_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def walk_every_revision(url: str) -> None:
    steps = revisions()
    assert steps, "no migrations found"
    await downgrade_database(url, "base")
    assert await tables(url) == set()
    for revision in steps:
        await upgrade_database(url, revision)
        assert await current_revision(url) == revision
    assert await tables(url) == TABLES
    for revision in reversed(steps):
        assert await current_revision(url) == revision
        await downgrade_database(url, "-1")
    assert await current_revision(url) is None
    assert await tables(url) == set()
    await upgrade_database(url)
    assert await tables(url) == TABLES


def schema_drift(connection: Connection) -> list[Any]:
    def include(_obj: Any, name: str | None, kind: str, _reflected: bool, _other: Any) -> bool:
        return not (kind == "index" and name in DIALECT_ONLY_INDEXES)

    context = MigrationContext.configure(
        connection, opts={"include_object": include, "compare_type": True}
    )
    with warnings.catch_warnings():
        # Alembic cannot compare expression indexes such as lower(email) and says so.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", SAWarning)
        return list(compare_metadata(context, metadata))


async def drift(url: str) -> list[Any]:
    engine = create_database_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(schema_drift)
    finally:
        await engine.dispose()


async def test_sqlite_walks_every_revision_up_and_down(tmp_path: Path) -> None:
    await walk_every_revision(f"sqlite+aiosqlite:///{tmp_path / 'walk.db'}")


@pytest.mark.postgres
async def test_postgres_walks_every_revision_up_and_down(postgres_url: str) -> None:
    await walk_every_revision(postgres_url)


async def test_sqlite_schema_matches_the_metadata(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'drift.db'}"
    await upgrade_database(url)
    assert await drift(url) == []


@pytest.mark.postgres
async def test_postgres_schema_matches_the_metadata(postgres_url: str) -> None:
    assert await drift(postgres_url) == []
