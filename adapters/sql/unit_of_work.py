"""One database transaction with the repositories that take part in it.

A unit of work holds one pooled connection (SQLAlchemy Core, no ORM session:
rows are mapped to domain objects explicitly, so an identity map and lazy loads
would only cost time). The transaction begins with the first statement and is
rolled back on exit unless `commit()` was called. Domain facts reach the outbox
through the `FactCollector` (application/facts.py), as in the memory unit of work.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.actor_context import ACTORS
from adapters.sql.account_tokens import SqlAccountTokenRepository
from adapters.sql.audit import SqlAuditLog
from adapters.sql.calendar_feeds import SqlCalendarFeedRepository
from adapters.sql.engine import WRITE_LOCK, is_sqlite
from adapters.sql.events import SqlCoOrganizerRepository, SqlEventRepository
from adapters.sql.outbox import SqlOutbox
from adapters.sql.registrations import SqlRegistrationRepository
from adapters.sql.sessions import SqlSessionRepository
from adapters.sql.users import SqlUserRepository
from adapters.sql.webhooks import SqlWebhookRepository
from adapters.uuid7 import Uuid7Generator
from application.facts import FactCollector
from application.ports.audit import ActorContext
from application.ports.system import IdGenerator
from application.ports.unit_of_work import UnitOfWork
from application.reminders import ReminderSchedule
from domain.domain_events import DomainEvent


class SqlUnitOfWork(UnitOfWork):
    def __init__(
        self,
        engine: AsyncEngine,
        ids: IdGenerator,
        actors: ActorContext,
        reminders: ReminderSchedule | None = None,
    ) -> None:
        self._engine = engine
        self._ids = ids
        self._actors = actors
        self._reminders = reminders
        self._connection: AsyncConnection | None = None
        self._facts: FactCollector | None = None

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a unit of work is entered once")
        connection = await self._engine.connect()
        self._connection = connection
        self.outbox = SqlOutbox(connection)
        self.webhooks = SqlWebhookRepository(connection)
        self._facts = FactCollector(
            self.outbox,
            SqlAuditLog(connection),
            self._actors,
            self._ids,
            webhooks=self.webhooks,
            reminders=self._reminders,
        )
        self.users = self._facts.users(SqlUserRepository(connection))
        self.events = self._facts.events(SqlEventRepository(connection))
        self.co_organizers = SqlCoOrganizerRepository(connection)
        self.registrations = SqlRegistrationRepository(connection)
        self.sessions = SqlSessionRepository(connection)
        self.account_tokens = SqlAccountTokenRepository(connection)
        self.calendar_feeds = SqlCalendarFeedRepository(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()

    async def record(self, fact: DomainEvent) -> None:
        if self._facts is None:
            raise RuntimeError("record() outside the unit of work")
        await self._facts.record(fact)

    async def commit(self) -> None:
        if self._connection is None or self._facts is None:
            raise RuntimeError("commit() outside the unit of work")
        self._facts.ensure_drained()
        await self._connection.commit()


class SqlUnitOfWorkFactory:
    """A `UnitOfWorkFactory` over one engine: each call is a new unit of work.

    On SQLite its connections begin with BEGIN IMMEDIATE (see `engine.py`), so
    units of work that write are serialised from their first statement.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        ids: IdGenerator | None = None,
        actors: ActorContext = ACTORS,
        reminders: ReminderSchedule | None = None,
    ) -> None:
        self._ids = ids or Uuid7Generator()
        self._actors = actors
        self._reminders = reminders
        self._reader = engine
        self._writer = (
            engine.execution_options(**{WRITE_LOCK: True}) if is_sqlite(engine) else engine
        )

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """Read-only units of work begin a plain (deferred) transaction on SQLite, so
        looking up the caller never queues behind writers."""
        return SqlUnitOfWork(
            self._reader if read_only else self._writer, self._ids, self._actors, self._reminders
        )
