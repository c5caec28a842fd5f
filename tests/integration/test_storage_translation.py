"""The SQL adapter's transient failures arrive as `StorageUnavailable`, and only those.

No driver error leaves the adapter for an outage (a refused connection, a pool
that stays full, SQLite's write lock held past the busy timeout); mistakes that
no retry fixes (a missing database, a broken constraint) are left as they are,
for their own handling.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import IDLE_IN_TRANSACTION_TIMEOUT, create_database_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.storage import StorageUnavailable
from domain.errors import EmailTaken
from tests.builders import a_user

LOOPBACK = "127.0.0.1"


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


async def select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "eventapi.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
def write_lock(sqlite_file: Path) -> Iterator[None]:
    """Another process's writer: holds the file's write lock while the test runs."""
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


async def test_a_refused_postgres_connection_is_storage_unavailable() -> None:
    engine = create_database_engine(f"postgresql://nobody@{LOOPBACK}:{closed_port()}/none")
    try:
        with pytest.raises(StorageUnavailable, match="cannot reach the database"):
            await select_one(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_full_pool_is_storage_unavailable_after_the_pool_timeout(
    postgres_url: str,
) -> None:
    engine = create_database_engine(postgres_url, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        async with engine.connect() as only:
            await only.execute(text("SELECT 1"))
            started = time.monotonic()
            with pytest.raises(StorageUnavailable, match="no database connection free within 1"):
                await select_one(engine)
            assert 0.9 < time.monotonic() - started < 5
        await select_one(engine)  # and the pool works once a connection is back
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_missing_postgres_database_is_not_called_transient(postgres_url: str) -> None:
    missing = make_url(postgres_url).set(database=f"eventapi_missing_{uuid4().hex[:8]}")
    engine = create_database_engine(missing)
    try:
        with pytest.raises(DBAPIError, match="does not exist"):
            await select_one(engine)
    finally:
        await engine.dispose()


@pytest.mark.usefixtures("write_lock")
async def test_sqlite_locked_past_the_busy_timeout_is_storage_unavailable(
    sqlite_file: Path,
) -> None:
    engine = create_database_engine(f"sqlite:///{sqlite_file}", busy_timeout_ms=50)
    try:
        with pytest.raises(StorageUnavailable, match="database is locked"):
            async with SqlUnitOfWorkFactory(engine)() as uow:
                await uow.users.add(a_user())
                await uow.commit()
    finally:
        await engine.dispose()


async def test_a_broken_constraint_is_left_to_the_repository(sqlite_file: Path) -> None:
    """The unique e-mail index's IntegrityError still reaches the repository, which
    makes it the domain's EmailTaken."""
    engine = create_database_engine(f"sqlite:///{sqlite_file}")
    uow = SqlUnitOfWorkFactory(engine)
    user = a_user()
    try:
        async with uow() as first:
            await first.users.add(user)
            await first.commit()
        with pytest.raises(EmailTaken):
            async with uow() as second:
                await second.users.add(user)
                await second.commit()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_ends_a_transaction_its_holder_left_idle(postgres_url: str) -> None:
    """A process frozen mid-transaction must not hold its row locks (an event's, and so
    every join of it) for ever: the server ends such a transaction."""
    engine = create_database_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            shown = await connection.scalar(text("SHOW idle_in_transaction_session_timeout"))
        assert shown == IDLE_IN_TRANSACTION_TIMEOUT == "30s"
    finally:
        await engine.dispose()
