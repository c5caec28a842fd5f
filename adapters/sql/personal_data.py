"""One person's data for their export, in keyset-paged batches (one SELECT each).

Each batch starts strictly after the last row of the one before, on the same
(sort, id) order the listing indexes use: a deep batch costs what the first one
does, and no batch holds a connection while the caller writes it out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, RowMapping, Select, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.mapping import event_summary_from_row, event_view_from_row
from adapters.sql.outbox_queue import FAILED, NOT_SENT, SENT
from adapters.sql.reading import fetch_all, read_only
from adapters.sql.registration_queries import waitlist_position
from adapters.sql.tables import events, outbox, registrations, users
from application.ports.notifications import NotificationKind
from application.ports.personal_data import (
    EXPORT_BATCH_SIZE,
    NotificationRecord,
    NotificationState,
    PersonalData,
)
from application.ports.queries import EventView, RegistrationView
from domain.registration import RegistrationStatus

T = TypeVar("T")


class SqlPersonalData(PersonalData):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)

    def registrations(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[RegistrationView]]:
        statement = (
            select(
                registrations,
                waitlist_position(),
                events.c.title.label("event_title"),
                events.c.starts_at.label("event_starts_at"),
                events.c.ends_at.label("event_ends_at"),
                events.c.timezone.label("event_timezone"),
                events.c.status.label("event_status"),
            )
            .join(events, events.c.id == registrations.c.event_id)
            .where(registrations.c.user_id == user_id)
        )
        order = (registrations.c.created_at, registrations.c.id)
        return self._batches(statement, order, _registration, batch_size)

    def organised_events(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[EventView]]:
        statement = (
            select(events, users.c.full_name.label("organizer_name"))
            .join(users, users.c.id == events.c.organizer_id)
            .where(events.c.organizer_id == user_id)
        )
        order = (events.c.starts_at, events.c.id)  # ix_events_organizer_starts_at
        return self._batches(statement, order, event_view_from_row, batch_size)

    def notifications(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[NotificationRecord]]:
        statement = (
            select(
                outbox.c.id,
                outbox.c.kind,
                outbox.c.created_at,
                outbox.c.status,
                outbox.c.last_error,
                outbox.c.sent_at,
                outbox.c.event_id,
                outbox.c.details,
                outbox.c.due_at,
                events.c.title.label("event_title"),
            )
            .outerjoin(events, events.c.id == outbox.c.event_id)
            .where(outbox.c.recipient_id == user_id)
        )
        return self._batches(statement, (outbox.c.id,), _notification, batch_size)

    async def _batches(
        self,
        statement: Select[Any],
        order: Sequence[ColumnElement[Any]],
        convert: Callable[[RowMapping], T],
        batch_size: int,
    ) -> AsyncIterator[list[T]]:
        """Keyset paging on `order` (its last column unique): WHERE (order) > (last
        row's) ORDER BY order LIMIT batch_size, until a short batch."""
        names = [column.name for column in order]
        after: list[Any] | None = None
        while True:
            page = statement
            if after is not None:
                bound = [
                    literal(value, column.type) for value, column in zip(after, order, strict=True)
                ]
                page = page.where(tuple_(*order) > tuple_(*bound))
            rows = await fetch_all(self._engine, page.order_by(*order).limit(batch_size))
            if rows:
                yield [convert(row) for row in rows]
            if len(rows) < batch_size:
                return
            after = [rows[-1][name] for name in names]


def _registration(row: RowMapping) -> RegistrationView:
    return RegistrationView(
        id=row["id"],
        event_id=row["event_id"],
        user_id=row["user_id"],
        status=RegistrationStatus(row["status"]),
        waitlist_position=row["waitlist_position"],
        created_at=row["created_at"],
        event=event_summary_from_row(row),
        ticket_code=row["ticket_code"],
        checked_in_at=row["checked_in_at"],
    )


def _notification(row: RowMapping) -> NotificationRecord:
    return NotificationRecord(
        kind=NotificationKind(row["kind"]),
        created_at=row["created_at"],
        status=notification_state(row["status"], row["last_error"]),
        sent_at=row["sent_at"],
        event_id=row["event_id"],
        event_title=row["event_title"] or (row["details"] or {}).get("title"),
        due_at=row["due_at"],
    )


def notification_state(status: str, last_error: str | None) -> NotificationState:
    """An outbox row's status as people read it: a row settled without sending
    (the "not sent: " mark) is skipped, not sent."""
    if status == SENT and last_error is not None and last_error.startswith(NOT_SENT):
        return NotificationState.SKIPPED
    if status == FAILED:
        return NotificationState.FAILED
    return NotificationState(status)
