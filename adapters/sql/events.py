"""Events in SQL. The row lock taken by `get_for_update` is what keeps concurrent
joins from overbooking: the aggregate's counters are decided under it.

`save` writes only the columns whose values changed since the event was loaded
in this unit of work: a join sets its counters (and `updated_at`), not the other
two dozen columns of the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, case, delete, insert, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.mapping import event_from_row, event_values
from adapters.sql.tables import event_co_organizers, events, registrations
from application.ports.repositories import CoOrganizerRepository, EventRepository
from domain.event import CoOrganizer, Event, EventStatus

_BY_ID = select(events).where(events.c.id == bindparam("id"))
_FOR_UPDATE = _BY_ID.with_for_update()
_INSERT = insert(events)
#: Never written by `save`.
_FIXED = frozenset({"id", "created_at"})
_PLACE = frozenset({"address", "city", "country"})
#: SET comes from the parameters' keys (the changed columns); `event_id` picks the row.
_UPDATE = update(events).where(events.c.id == bindparam("event_id"))
_MOVED = or_(
    events.c.address != bindparam("new_address"),
    events.c.city != bindparam("new_city"),
    events.c.country != bindparam("new_country"),
)
_UPDATE_PLACE = _UPDATE.values(
    geocode_attempted_at=case((_MOVED, null()), else_=events.c.geocode_attempted_at),
    geocode_retry_at=case((_MOVED, null()), else_=events.c.geocode_retry_at),
)


class SqlEventRepository(EventRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        #: The column values of each event as this unit of work loaded or last wrote it.
        self._stored: dict[UUID, dict[str, Any]] = {}

    async def get(self, event_id: UUID) -> Event | None:
        return await self._load(event_id, lock=False)

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """SELECT ... FOR UPDATE on PostgreSQL. SQLite has no row locks; there the
        unit of work began with BEGIN IMMEDIATE and so holds the write lock."""
        return await self._load(event_id, lock=True)

    async def add(self, event: Event) -> None:
        values = event_values(event)
        await self._connection.execute(_INSERT, values)
        self._stored[event.id] = values

    async def save(self, event: Event) -> None:
        """The changed columns only. A new address clears the geocoding bookkeeping,
        so the worker tries it."""
        values = event_values(event)
        stored = self._stored.get(event.id)
        changed = {
            name: value
            for name, value in values.items()
            if name not in _FIXED and (stored is None or stored.get(name) != value)
        }
        if not changed:
            return
        parameters: dict[str, Any] = {**changed, "event_id": event.id}
        statement = _UPDATE
        if stored is None or _PLACE & changed.keys():
            # SET clauses read the row as it was before the UPDATE, on both dialects.
            statement = _UPDATE_PLACE
            location = event.location
            parameters["new_address"] = location.address
            parameters["new_city"] = location.city
            parameters["new_country"] = location.country
        await self._connection.execute(statement, parameters)
        self._stored[event.id] = values

    async def delete(self, event: Event) -> None:
        await self._connection.execute(
            delete(registrations).where(registrations.c.event_id == event.id)
        )
        await self._connection.execute(
            delete(event_co_organizers).where(event_co_organizers.c.event_id == event.id)
        )
        await self._connection.execute(delete(events).where(events.c.id == event.id))
        self._stored.pop(event.id, None)

    async def open_organized_by(self, organizer_id: UUID, *, ending_after: datetime) -> list[UUID]:
        statement = (
            select(events.c.id)
            .where(
                events.c.organizer_id == organizer_id,
                or_(
                    events.c.status == EventStatus.DRAFT.value,
                    and_(
                        events.c.status == EventStatus.PUBLISHED.value,
                        events.c.ends_at > ending_after,
                    ),
                ),
            )
            .order_by(events.c.id)
        )
        return list((await self._connection.execute(statement)).scalars())

    async def _load(self, event_id: UUID, *, lock: bool) -> Event | None:
        statement = _FOR_UPDATE if lock else _BY_ID
        row = (await self._connection.execute(statement, {"id": event_id})).mappings().first()
        if row is None:
            return None
        event = event_from_row(row)
        self._stored[event.id] = event_values(event)
        return event


class SqlCoOrganizerRepository(CoOrganizerRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def user_ids(self, event_id: UUID) -> frozenset[UUID]:
        statement = select(event_co_organizers.c.user_id).where(
            event_co_organizers.c.event_id == event_id
        )
        return frozenset((await self._connection.execute(statement)).scalars())

    async def add(self, co_organizer: CoOrganizer) -> None:
        await self._connection.execute(
            insert(event_co_organizers),
            {
                "event_id": co_organizer.event_id,
                "user_id": co_organizer.user_id,
                "added_at": co_organizer.added_at,
                "added_by": co_organizer.added_by,
            },
        )

    async def remove(self, event_id: UUID, user_id: UUID) -> None:
        await self._connection.execute(
            delete(event_co_organizers).where(
                event_co_organizers.c.event_id == event_id,
                event_co_organizers.c.user_id == user_id,
            )
        )

    async def remove_user(self, user_id: UUID) -> None:
        await self._connection.execute(
            delete(event_co_organizers).where(event_co_organizers.c.user_id == user_id)
        )
