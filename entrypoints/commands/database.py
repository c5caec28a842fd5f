"""Schema upkeep for the commands: migrate on request, or check before use."""

from __future__ import annotations

from alembic.util.exc import CommandError as AlembicError

from adapters.sql.migrate import current_revision, head_revision, upgrade_database
from entrypoints.commands import CommandError
from entrypoints.container import Container


async def migrate(container: Container, revision: str = "head") -> str | None:
    """Upgrade the schema to `revision`; returns the revision the database is at."""
    engine = container.engine()
    try:
        await upgrade_database(engine, revision)
    except AlembicError as exc:
        raise CommandError(f"cannot migrate to {revision!r}: {exc}") from None
    return await current_revision(engine)


async def require_schema(container: Container) -> None:
    """The embedded SQLite default migrates itself, as the server does; any other
    database must have been migrated (`eventapi migrate`) before it is used."""
    if container.settings().database.is_sqlite:
        await migrate(container)
        return
    current, head = await current_revision(container.engine()), head_revision()
    if current != head:
        raise CommandError(
            f"the database schema is at revision {current or 'none'}, not {head}; "
            "run `eventapi migrate` first"
        )
