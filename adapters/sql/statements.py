"""Statements whose SQL differs between PostgreSQL and SQLite, built once.

Hot statements are module-level constructs executed with parameters
(`connection.execute(STATEMENT, {...})`), not rebuilt per call with `.values()`:
SQLAlchemy then finds their compiled form in its cache without constructing and
hashing a new statement tree on every request.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_or_ignore(
    connection: AsyncConnection, table: Table, conflict_target: list[Any]
) -> Insert:
    """`INSERT ... ON CONFLICT (target) DO NOTHING`: one round trip, no aborted
    transaction on PostgreSQL, and violations of other constraints still raise."""
    return _insert_or_ignore(connection.dialect.name, table, tuple(conflict_target))


def cached_insert_or_ignore(
    connection: AsyncConnection, table: Table, conflict_target: tuple[Any, ...], *returning: Any
) -> Insert:
    """`insert_or_ignore(...).returning(*returning)`, the same object on every call
    (per dialect, table and columns): execute it with the row as parameters."""
    return _cached(connection.dialect.name, table, conflict_target, returning)


def _insert_or_ignore(dialect: str, table: Table, conflict_target: tuple[Any, ...]) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict_target)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict_target)


@cache
def _cached(
    dialect: str, table: Table, conflict_target: tuple[Any, ...], returning: tuple[Any, ...]
) -> Insert:
    statement = _insert_or_ignore(dialect, table, conflict_target)
    return statement.returning(*returning) if returning else statement
