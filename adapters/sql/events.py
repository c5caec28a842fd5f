"""Events in SQL. The row lock taken by `get_for_update` is what keeps concurrent
joins from overbooking: the aggregate's counters are decided under it."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.mapping import event_from_row, event_values
from adapters.sql.tables import events, registrations
from application.ports.repositories import EventRepository
from domain.event import Event


class SqlEventRepository(EventRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, event_id: UUID) -> Event | None:
        return await self._load(event_id, lock=False)

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """SELECT ... FOR UPDATE on PostgreSQL. SQLite has no row locks; there the
        unit of work began with BEGIN IMMEDIATE and so holds the write lock."""
        return await self._load(event_id, lock=True)

    async def add(self, event: Event) -> None:
        await self._connection.execute(insert(events).values(event_values(event)))

    async def save(self, event: Event) -> None:
        values = event_values(event)
        del values["id"], values["created_at"]
        await self._connection.execute(update(events).where(events.c.id == event.id).values(values))

    async def delete(self, event_id: UUID) -> None:
        await self._connection.execute(
            delete(registrations).where(registrations.c.event_id == event_id)
        )
        await self._connection.execute(delete(events).where(events.c.id == event_id))

    async def _load(self, event_id: UUID, *, lock: bool) -> Event | None:
        statement = select(events).where(events.c.id == event_id)
        if lock:
            statement = statement.with_for_update()
        row = (await self._connection.execute(statement)).mappings().first()
        return None if row is None else event_from_row(row)
