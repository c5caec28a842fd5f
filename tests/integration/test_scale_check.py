"""The scale check (adapters/sql/scale_check.py) seeds and explains, at a small scale.

It bulk-loads with COPY, whose column list comes from the table metadata: a
migration that adds a column with a default must not break it again (it once
failed with `KeyError: 'geocode_attempted_at'`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import scale_check
from adapters.sql.tables import events, users


@pytest.mark.postgres
async def test_seeds_and_explains_every_listing(
    postgres_engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    organizers = await scale_check.seed(postgres_engine, 500, batch=200)

    async with postgres_engine.connect() as connection:
        stored = await connection.scalar(select(func.count()).select_from(events))
        organizer_rows = await connection.scalar(select(func.count()).select_from(users))
        untried = await connection.scalar(
            select(func.count()).where(events.c.geocode_attempted_at.is_(None))
        )
    assert (stored, organizer_rows, untried) == (500, len(organizers), 500)

    summary = await scale_check.explain_all(postgres_engine)
    names = [name for name, _, _ in summary]
    assert {"first page", "deep cursor page", "text search", "near 25 km"} <= set(names)
    assert all(ms >= 0 for _, _, ms in summary), summary
    assert "Execution Time" in capsys.readouterr().out


def test_copy_columns_follow_the_table_and_leave_defaults_to_the_database() -> None:
    table = Table(
        "things",
        MetaData(),
        Column("id", Integer(), primary_key=True, autoincrement=False),
        Column("name", String(10), nullable=False),
        Column("note", String(10), nullable=True),
        Column("state", String(10), nullable=False, server_default="new"),
    )
    assert scale_check.copy_columns(table, ["name", "id"]) == ["id", "name"]
    with pytest.raises(ValueError, match=r"required columns without a value \['name'\]"):
        scale_check.copy_columns(table, ["id"])
    with pytest.raises(ValueError, match="unknown columns"):
        scale_check.copy_columns(table, ["id", "name", "colour"])
