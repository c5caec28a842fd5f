"""Registrations in SQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Executable, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.mapping import registration_from_row, registration_values
from adapters.sql.statements import cached_insert_or_ignore
from adapters.sql.tables import events, registrations
from application.ports.repositories import RegistrationRepository
from domain.errors import AlreadyRegistered
from domain.registration import Registration, RegistrationStatus

_PAIR = (registrations.c.event_id, registrations.c.user_id)
_FIND = select(registrations).where(
    registrations.c.event_id == bindparam("event_id"),
    registrations.c.user_id == bindparam("user_id"),
)
_ACTIVE = (RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value)


class SqlRegistrationRepository(RegistrationRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, registration_id: UUID) -> Registration | None:
        return await self._first(select(registrations).where(registrations.c.id == registration_id))

    async def find(self, event_id: UUID, user_id: UUID) -> Registration | None:
        row = (
            (await self._connection.execute(_FIND, {"event_id": event_id, "user_id": user_id}))
            .mappings()
            .first()
        )
        return None if row is None else registration_from_row(row)

    async def add(self, registration: Registration) -> None:
        """UNIQUE(event_id, user_id) decides; a clash is reported without aborting
        the transaction."""
        statement = cached_insert_or_ignore(
            self._connection, registrations, _PAIR, registrations.c.id
        )
        result = await self._connection.execute(statement, registration_values(registration))
        if result.first() is None:
            raise AlreadyRegistered(registration.event_id, registration.user_id)

    async def save(self, registration: Registration) -> None:
        await self._connection.execute(
            update(registrations)
            .where(registrations.c.id == registration.id)
            .values(
                status=registration.status.value,
                waitlist_ticket=registration.waitlist_ticket,
                ticket_code=registration.ticket_code,
                updated_at=registration.updated_at,
            )
        )

    async def delete(self, registration_id: UUID) -> None:
        await self._connection.execute(
            delete(registrations).where(registrations.c.id == registration_id)
        )

    async def waitlist_head(self, event_id: UUID, limit: int) -> list[Registration]:
        if limit <= 0:
            return []
        statement = (
            select(registrations)
            .where(
                registrations.c.event_id == event_id,
                registrations.c.status == RegistrationStatus.WAITLISTED.value,
            )
            .order_by(registrations.c.waitlist_ticket)
            .limit(limit)
        )
        result = await self._connection.execute(statement)
        return [registration_from_row(row) for row in result.mappings()]

    async def cancel_all(self, event_id: UUID, now: datetime) -> None:
        await self._connection.execute(
            update(registrations)
            .where(registrations.c.event_id == event_id, registrations.c.status.in_(_ACTIVE))
            .values(status=RegistrationStatus.CANCELLED.value, waitlist_ticket=None, updated_at=now)
        )

    async def active_for_user(self, user_id: UUID, *, ending_after: datetime) -> list[Registration]:
        statement = (
            select(registrations)
            .join(events, events.c.id == registrations.c.event_id)
            .where(
                registrations.c.user_id == user_id,
                registrations.c.status.in_(_ACTIVE),
                events.c.ends_at > ending_after,
            )
            .order_by(events.c.starts_at, registrations.c.id)
        )
        result = await self._connection.execute(statement)
        return [registration_from_row(row) for row in result.mappings()]

    async def all_for_user(self, user_id: UUID) -> list[Registration]:
        statement = (
            select(registrations)
            .where(registrations.c.user_id == user_id)
            .order_by(registrations.c.event_id)
        )
        result = await self._connection.execute(statement)
        return [registration_from_row(row) for row in result.mappings()]

    async def find_by_ticket(self, event_id: UUID, ticket_code: str) -> Registration | None:
        return await self._first(
            select(registrations).where(
                registrations.c.event_id == event_id, registrations.c.ticket_code == ticket_code
            )
        )

    async def check_in(
        self, event_id: UUID, ticket_code: str, now: datetime
    ) -> Registration | None:
        # Never read-then-write: the WHERE clause is the decision, so the database
        # lets exactly one of any number of concurrent scans change the row.
        statement = (
            update(registrations)
            .where(
                registrations.c.event_id == event_id,
                registrations.c.ticket_code == ticket_code,
                registrations.c.status == RegistrationStatus.CONFIRMED.value,
                registrations.c.checked_in_at.is_(None),
            )
            .values(checked_in_at=now)
            .returning(*registrations.c)
        )
        return await self._first(statement)

    async def _first(self, statement: Executable) -> Registration | None:
        row = (await self._connection.execute(statement)).mappings().first()
        return None if row is None else registration_from_row(row)
