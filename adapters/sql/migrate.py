"""Running the Alembic migrations from code (CLI, tests, app start-up).

The scripts live inside this package, so this works the same from a source
checkout and from an installed wheel. The connection is handed to `env.py`
through `Config.attributes`, the Alembic recipe for sharing one with asyncio.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from adapters.sql.engine import create_database_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_Step = Callable[[Config], None]


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration without an ini file; `url` is for offline SQL output."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        rendered = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


async def upgrade_database(target: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the newest by default)."""
    await _run(target, lambda config: command.upgrade(config, revision))


async def downgrade_database(target: str | URL | AsyncEngine, revision: str = "base") -> None:
    """Take the schema down to `revision` (nothing at all by default)."""
    await _run(target, lambda config: command.downgrade(config, revision))


def head_revision() -> str | None:
    """The newest revision the shipped migrations know."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(target: str | URL | AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    engine, owned = _engine(target)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        if owned:
            await engine.dispose()


async def _run(target: str | URL | AsyncEngine, step: _Step) -> None:
    engine, owned = _engine(target)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_with_connection, step)
    finally:
        if owned:
            await engine.dispose()


def _with_connection(connection: Connection, step: _Step) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    step(config)


def _engine(target: str | URL | AsyncEngine) -> tuple[AsyncEngine, bool]:
    if isinstance(target, AsyncEngine):
        return target, False
    return create_database_engine(target, poolclass=NullPool), True
