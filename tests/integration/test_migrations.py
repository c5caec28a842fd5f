"""Alembic owns the schema: every revision goes up and down on SQLite and
PostgreSQL, and the migrated schema matches the adapter's table metadata."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import BindParameter, Uuid, bindparam, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning

from adapters.sql.engine import create_database_engine
from adapters.sql.migrate import (
    alembic_config,
    current_revision,
    downgrade_database,
    upgrade_database,
)
from adapters.sql.tables import ALL_TABLES, UtcDateTime, events, metadata
from tests.builders import NOW

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


TYPED: list[BindParameter[Any]] = [
    bindparam("id", type_=Uuid()),
    bindparam("now", type_=UtcDateTime()),
]


async def backfill_of_0004(url: str) -> None:
    """Rows written before 0004 get codes for country names, folded words for
    the city, and markup-free search text."""
    await downgrade_database(url, "base")
    await upgrade_database(url, "0003")
    engine = create_database_engine(url)
    organizer, event = uuid4(), uuid4()
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, email, full_name, role, password_hash, is_active,"
                    " created_at, updated_at) VALUES (:id, 'o@example.org', 'O', 'organizer',"
                    " '-', true, :now, :now)"
                ).bindparams(*TYPED),
                {"id": organizer, "now": NOW},
            )
            await connection.execute(
                text(
                    "INSERT INTO events (id, organizer_id, title, description, venue, address,"
                    " city, country, city_key, country_key, starts_at, ends_at, timezone,"
                    " capacity, waitlist_enabled, status, attendee_count, waitlist_count,"
                    " tickets_issued, sequence, cancel_reason, revision, created_at, updated_at)"
                    " VALUES (:id, :organizer, 'Café Quiz', '<p>Two <strong>talks</strong>.</p>',"
                    " 'Hall', '', 'São Paulo', 'Brazil', 'são paulo', 'brazil', :starts,"
                    " :ends, 'UTC', 10, false, 'published', 0, 0, 0, 0, '', 1, :now, :now)"
                ).bindparams(
                    *TYPED,
                    bindparam("organizer", type_=Uuid()),
                    bindparam("starts", type_=UtcDateTime()),
                    bindparam("ends", type_=UtcDateTime()),
                ),
                {
                    "id": event,
                    "organizer": organizer,
                    "starts": NOW + timedelta(days=1),
                    "ends": NOW + timedelta(days=2),
                    "now": NOW,
                },
            )
        await upgrade_database(url)
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(
                        events.c.country,
                        events.c.city_key,
                        events.c.country_key,
                        events.c.search_title,
                        events.c.search_text,
                    ).where(events.c.id == event)
                )
            ).one()
    finally:
        await engine.dispose()
    assert tuple(row) == (
        "BR",
        "sao paulo",
        "br",
        "cafe quiz",
        "cafe quiz two talks hall sao paulo",
    )


async def test_0004_backfills_search_columns_on_sqlite(tmp_path: Path) -> None:
    await backfill_of_0004(f"sqlite+aiosqlite:///{tmp_path / 'backfill.db'}")


@pytest.mark.postgres
async def test_0004_backfills_search_columns_on_postgres(postgres_url: str) -> None:
    try:
        await backfill_of_0004(postgres_url)
    finally:
        await downgrade_database(postgres_url, "base")
        await upgrade_database(postgres_url)
