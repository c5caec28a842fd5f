"""Statements whose SQL differs between PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_or_ignore(
    connection: AsyncConnection, table: Table, conflict_target: list[Any]
) -> Insert:
    """`INSERT ... ON CONFLICT (target) DO NOTHING`: one round trip, no aborted
    transaction on PostgreSQL, and violations of other constraints still raise."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict_target)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict_target)
