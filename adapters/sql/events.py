"""Events in SQL. The row lock taken by `get_for_update` is what keeps concurrent
joins from overbooking: the aggregate's counters are decided under it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, case, delete, insert, null, or_, select, update
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
        """A new address clears the geocoding bookkeeping, so the worker tries it."""
        values: dict[str, Any] = event_values(event)
        del values["id"], values["created_at"]
        location = event.location
        moved = or_(
            events.c.address != location.address,
            events.c.city != location.city,
            events.c.country != location.country,
        )
        values["geocode_attempted_at"] = _unless(moved, events.c.geocode_attempted_at)
        values["geocode_retry_at"] = _unless(moved, events.c.geocode_retry_at)
        await self._connection.execute(update(events).where(events.c.id == event.id).values(values))

    async def delete(self, event: Event) -> None:
        await self._connection.execute(
            delete(registrations).where(registrations.c.event_id == event.id)
        )
        await self._connection.execute(delete(events).where(events.c.id == event.id))

    async def _load(self, event_id: UUID, *, lock: bool) -> Event | None:
        statement = select(events).where(events.c.id == event_id)
        if lock:
            statement = statement.with_for_update()
        row = (await self._connection.execute(statement)).mappings().first()
        return None if row is None else event_from_row(row)


def _unless(moved: ColumnElement[bool], column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column's current value, or NULL once the address moved (SET clauses
    read the row as it was before the UPDATE, on both dialects)."""
    return case((moved, null()), else_=column)
