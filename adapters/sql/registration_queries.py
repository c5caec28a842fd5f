"""The registration read side: attendee lists and a user's own registrations.

A waitlist position is the rank of the ticket among the event's waitlisted
registrations, counted by a correlated subquery on the (event_id,
waitlist_ticket) index, so it is right for every row of every page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.mapping import event_summary_from_row, event_view_from_row
from adapters.sql.paging import keyset_order, page_of
from adapters.sql.reading import fetch_all, fetch_first, read_only
from adapters.sql.tables import events, registrations, users
from application.ports.queries import (
    CalendarEntry,
    Keyset,
    Page,
    PageRequest,
    PersonSummary,
    RegistrationQueries,
    RegistrationView,
)
from domain.event import EventStatus
from domain.registration import RegistrationStatus

_WAITLISTED = RegistrationStatus.WAITLISTED.value
_ACTIVE = (RegistrationStatus.CONFIRMED.value, _WAITLISTED)


def waitlist_position() -> ColumnElement[Any]:
    ahead = registrations.alias("ahead")
    rank = (
        select(func.count())
        .select_from(ahead)
        .where(
            ahead.c.event_id == registrations.c.event_id,
            ahead.c.status == _WAITLISTED,
            ahead.c.waitlist_ticket <= registrations.c.waitlist_ticket,
        )
        .scalar_subquery()
    )
    return case((registrations.c.status == _WAITLISTED, rank), else_=None).label(
        "waitlist_position"
    )


def _views(*extra: Any) -> Select[Any]:
    return select(registrations, waitlist_position(), *extra)


def _view(row: Any, *, user: bool = False, event: bool = False) -> RegistrationView:
    return RegistrationView(
        id=row["id"],
        event_id=row["event_id"],
        user_id=row["user_id"],
        status=RegistrationStatus(row["status"]),
        waitlist_position=row["waitlist_position"],
        created_at=row["created_at"],
        ticket_code=row["ticket_code"],
        checked_in_at=row["checked_in_at"],
        user=PersonSummary(id=row["user_id"], full_name=row["user_full_name"]) if user else None,
        event=event_summary_from_row(row) if event else None,
    )


class SqlRegistrationQueries(RegistrationQueries):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)

    async def get(self, registration_id: UUID) -> RegistrationView | None:
        statement = _views().where(registrations.c.id == registration_id)
        row = await fetch_first(self._engine, statement)
        return None if row is None else _view(row)

    async def status_of(self, event_id: UUID, user_id: UUID) -> RegistrationStatus | None:
        statement = select(registrations.c.status).where(
            registrations.c.event_id == event_id, registrations.c.user_id == user_id
        )
        row = await fetch_first(self._engine, statement)
        return None if row is None else RegistrationStatus(row["status"])

    async def attendees(
        self, event_id: UUID, status: RegistrationStatus | None, page: PageRequest
    ) -> Page[RegistrationView]:
        # Cancelled registrations are records, not attendees: never listed here.
        statuses = _ACTIVE if status is None else tuple(set(_ACTIVE) & {status.value})
        statement = (
            _views(users.c.full_name.label("user_full_name"))
            .join(users, users.c.id == registrations.c.user_id)
            .where(registrations.c.event_id == event_id, registrations.c.status.in_(statuses))
        )
        statement = keyset_order(
            statement, page, sort_column=registrations.c.created_at, id_column=registrations.c.id
        )
        rows = await fetch_all(self._engine, statement)
        views = [_view(row, user=True) for row in rows]
        return page_of(views, page, lambda view: Keyset(view.created_at, view.id))

    async def for_user(
        self, user_id: UUID, *, starting_after: datetime | None, page: PageRequest
    ) -> Page[RegistrationView]:
        statement = (
            _views(
                events.c.title.label("event_title"),
                events.c.starts_at.label("event_starts_at"),
                events.c.ends_at.label("event_ends_at"),
                events.c.timezone.label("event_timezone"),
                events.c.status.label("event_status"),
            )
            .join(events, events.c.id == registrations.c.event_id)
            .where(registrations.c.user_id == user_id)
        )
        if starting_after is not None:
            statement = statement.where(events.c.starts_at > starting_after)
        statement = keyset_order(
            statement, page, sort_column=events.c.starts_at, id_column=registrations.c.id
        )
        rows = await fetch_all(self._engine, statement)
        views = [_view(row, event=True) for row in rows]
        return page_of(
            views, page, lambda view: Keyset(view.event.starts_at if view.event else None, view.id)
        )

    async def ticket_code(self, event_id: UUID, user_id: UUID) -> str | None:
        statement = select(registrations.c.ticket_code).where(
            registrations.c.event_id == event_id,
            registrations.c.user_id == user_id,
            registrations.c.status == RegistrationStatus.CONFIRMED.value,
        )
        row = await fetch_first(self._engine, statement)
        return None if row is None else row["ticket_code"]

    async def calendar(self, user_id: UUID, *, ending_after: datetime) -> list[CalendarEntry]:
        organizers = users.alias("organizers")
        statement = (
            select(
                events,
                organizers.c.full_name.label("organizer_name"),
                registrations.c.status.label("registration_status"),
            )
            .select_from(registrations)
            .join(events, events.c.id == registrations.c.event_id)
            .join(organizers, organizers.c.id == events.c.organizer_id)
            .where(
                registrations.c.user_id == user_id,
                registrations.c.status.in_(_ACTIVE),
                events.c.status == EventStatus.PUBLISHED.value,
                events.c.ends_at > ending_after,
            )
            .order_by(events.c.starts_at, events.c.id)
        )
        rows = await fetch_all(self._engine, statement)
        return [
            CalendarEntry(
                event=event_view_from_row(row),
                status=RegistrationStatus(row["registration_status"]),
            )
            for row in rows
        ]
