"""The transactional outbox in SQL: written in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import String, Uuid, and_, case, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.outbox_queue import FAILED, NOT_SENT, SENT
from adapters.sql.statements import cached_insert_or_ignore, insert_or_ignore
from adapters.sql.tables import JsonDocument, UtcDateTime, events, outbox, registrations, users
from application.ports.notifications import Broadcast, Notification, Outbox

_PENDING = "pending"
#: How operators see a pending row whose due time is still ahead.
_SCHEDULED = "scheduled"
_ONCE_PER_RECIPIENT = (outbox.c.cause_id, outbox.c.recipient_id)


class SqlOutbox(Outbox):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, *notifications: Notification) -> None:
        """A repeated (cause_id, recipient_id) is ignored: one message per cause and person."""
        rows = [_row(notification) for notification in notifications]
        if len(rows) == 1:
            statement = cached_insert_or_ignore(self._connection, outbox, _ONCE_PER_RECIPIENT)
            await self._connection.execute(statement, rows[0])
        elif rows:
            statement = insert_or_ignore(self._connection, outbox, list(_ONCE_PER_RECIPIENT))
            await self._connection.execute(statement.values(rows))

    async def broadcast(self, broadcast: Broadcast) -> None:
        """One INSERT ... SELECT over the event's registrations: the attendees never
        travel to this process, however many there are."""
        at = literal(broadcast.created_at, UtcDateTime())
        due = literal(broadcast.due_at, UtcDateTime())
        recipients = select(
            literal(broadcast.cause_id, Uuid()),
            literal(broadcast.kind.value, String()),
            registrations.c.user_id,
            registrations.c.event_id,
            literal(dict(broadcast.details), JsonDocument),
            at,
            literal(_PENDING, String()),
            literal(broadcast.due_at or broadcast.created_at, UtcDateTime()),
            due,
        ).where(
            registrations.c.event_id == broadcast.event_id,
            registrations.c.status.in_(sorted(status.value for status in broadcast.statuses)),
        )
        columns = [
            "cause_id",
            "kind",
            "recipient_id",
            "event_id",
            "details",
            "created_at",
            "status",
            "next_attempt_at",
            "due_at",
        ]
        statement = insert_or_ignore(
            self._connection, outbox, list(_ONCE_PER_RECIPIENT)
        ).from_select(columns, recipients)
        await self._connection.execute(statement)

    async def reschedule(self, cause_id: UUID, *, due_at: datetime) -> None:
        await self._connection.execute(
            update(outbox)
            .where(outbox.c.cause_id == cause_id, outbox.c.status == _PENDING)
            .values(due_at=due_at, next_attempt_at=due_at)
        )

    async def withdraw(self, cause_id: UUID, *, recipient_id: UUID | None = None) -> None:
        statement = delete(outbox).where(outbox.c.cause_id == cause_id, outbox.c.status == _PENDING)
        if recipient_id is not None:
            statement = statement.where(outbox.c.recipient_id == recipient_id)
        await self._connection.execute(statement)

    async def forget_recipient(self, recipient_id: UUID) -> None:
        await self._connection.execute(delete(outbox).where(outbox.c.recipient_id == recipient_id))


def _row(notification: Notification) -> dict[str, Any]:
    return {
        "cause_id": notification.cause_id,
        "kind": notification.kind.value,
        "recipient_id": notification.recipient_id,
        "event_id": notification.event_id,
        "details": dict(notification.details),
        "created_at": notification.created_at,
        "status": _PENDING,
        "attempts": 0,
        "next_attempt_at": notification.due_at or notification.created_at,
        "due_at": notification.due_at,
        "webhook_id": notification.webhook_id,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedMessage:
    """One outbox row as an operator reads it."""

    row_id: int
    kind: str
    recipient_email: str
    event_title: str | None
    created_at: datetime
    #: pending, sent or failed (dead-lettered); `skipped` for a row settled
    #: without sending (a closed account, an event deleted since); `scheduled`
    #: for a pending row not due yet (a reminder).
    status: str
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxListing:
    messages: list[QueuedMessage]
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxBacklog:
    """What the outbox holds that is not done: the numbers /metrics reports."""

    #: Rows due (or retrying) and not delivered yet.
    pending: int
    #: When the oldest pending row became due (written, or its due time came);
    #: None when nothing is pending.
    oldest_pending_at: datetime | None
    #: Dead letters, waiting for an operator.
    failed: int
    #: Rows not due yet (reminders ahead of their time): planned work, not a backlog.
    scheduled: int = 0


class SqlOutboxReader:
    """Read access to the outbox for operators (the `eventapi outbox` command)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def newest(self, limit: int, *, now: datetime | None = None) -> OutboxListing:
        """The newest `limit` messages first, and how many the outbox holds in all.
        An event deleted since keeps the title its notification recorded; a pending
        row not due until after `now` shows as `scheduled`."""
        statement = (
            select(
                outbox.c.id,
                outbox.c.kind,
                users.c.email,
                events.c.title,
                outbox.c.details,
                outbox.c.created_at,
                outbox.c.status,
                outbox.c.attempts,
                outbox.c.last_error,
                outbox.c.due_at,
            )
            .join(users, users.c.id == outbox.c.recipient_id)
            .outerjoin(events, events.c.id == outbox.c.event_id)
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
            total = (await connection.execute(select(func.count()).select_from(outbox))).scalar()
        messages = [
            QueuedMessage(
                row_id=row.id,
                kind=row.kind,
                recipient_email=row.email,
                event_title=row.title if row.title is not None else row.details.get("title"),
                created_at=row.created_at,
                status=_shown_status(row.status, row.last_error, row.due_at, now),
                attempts=row.attempts,
            )
            for row in rows
        ]
        return OutboxListing(messages=messages, total=int(total or 0))

    async def backlog(self, now: datetime) -> OutboxBacklog:
        """Pending, scheduled and dead-lettered rows, in one grouped read of the
        status index. A row whose due time is still ahead is scheduled, not
        pending, so a reminder for next month never makes the outbox look stuck."""
        scheduled = and_(outbox.c.status == _PENDING, outbox.c.due_at > now)
        group = case((scheduled, _SCHEDULED), else_=outbox.c.status)
        became_due = func.coalesce(outbox.c.due_at, outbox.c.created_at)
        statement = (
            select(group, func.count(), func.min(became_due))
            .where(outbox.c.status.in_([_PENDING, FAILED]))
            .group_by(group)
        )
        async with self._engine.connect() as connection:
            rows = {row[0]: row for row in (await connection.execute(statement)).all()}
        pending, failed, ahead = rows.get(_PENDING), rows.get(FAILED), rows.get(_SCHEDULED)
        return OutboxBacklog(
            pending=int(pending[1]) if pending else 0,
            oldest_pending_at=pending[2] if pending else None,
            failed=int(failed[1]) if failed else 0,
            scheduled=int(ahead[1]) if ahead else 0,
        )


def _shown_status(
    status: str, last_error: str | None, due_at: datetime | None, now: datetime | None
) -> str:
    if status == _PENDING and due_at is not None and now is not None and due_at > now:
        return _SCHEDULED
    if status == SENT and last_error is not None and last_error.startswith(NOT_SENT):
        return "skipped"
    return status
