"""The storage backends every contract test runs against.

Each backend bundles one implementation of the storage ports; the contract
tests are written once against this bundle, so the in-memory fakes and the
SQL adapters are held to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.queries import (
    MemoryCallerQueries,
    MemoryEventQueries,
    MemoryRegistrationQueries,
    MemoryUserQueries,
)
from adapters.memory.state import OUTBOX_PURGED, MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.sql.caller_queries import SqlCallerQueries
from adapters.sql.event_queries import SqlEventQueries
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.registration_queries import SqlRegistrationQueries
from adapters.sql.tables import outbox as outbox_table
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.sql.user_queries import SqlUserQueries
from application.ports.delivery import OutboxQueue
from application.ports.notifications import Notification, NotificationKind
from application.ports.queries import (
    CallerQueries,
    EventQueries,
    RegistrationQueries,
    UserQueries,
)
from application.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Backend:
    name: str
    uow: UnitOfWorkFactory
    events: EventQueries
    registrations: RegistrationQueries
    users: UserQueries
    #: Everything the outbox holds, oldest first (test-only read access).
    outbox: Callable[[], Awaitable[list[Notification]]]
    callers: CallerQueries
    #: The worker's side of the same outbox.
    queue: OutboxQueue


def memory_backend() -> Backend:
    store = MemoryStore()

    async def outbox() -> list[Notification]:
        state = store.state
        return [
            n
            for row_id, n in enumerate(state.outbox, start=1)
            if state.outbox_row(row_id).status != OUTBOX_PURGED
        ]

    return Backend(
        name="memory",
        uow=MemoryUnitOfWorkFactory(store),
        events=MemoryEventQueries(store),
        registrations=MemoryRegistrationQueries(store),
        users=MemoryUserQueries(store),
        outbox=outbox,
        callers=MemoryCallerQueries(store),
        queue=MemoryOutboxQueue(store),
    )


def sql_backend(name: str, engine: AsyncEngine) -> Backend:
    async def outbox() -> list[Notification]:
        statement = select(outbox_table).order_by(outbox_table.c.id)
        async with engine.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [
            Notification(
                cause_id=row["cause_id"],
                kind=NotificationKind(row["kind"]),
                recipient_id=row["recipient_id"],
                created_at=row["created_at"],
                event_id=row["event_id"],
                details=row["details"],
                webhook_id=row["webhook_id"],
                due_at=row["due_at"],
            )
            for row in rows
        ]

    return Backend(
        name=name,
        uow=SqlUnitOfWorkFactory(engine),
        events=SqlEventQueries(engine),
        registrations=SqlRegistrationQueries(engine),
        users=SqlUserQueries(engine),
        outbox=outbox,
        callers=SqlCallerQueries(engine),
        queue=SqlOutboxQueue(engine),
    )
