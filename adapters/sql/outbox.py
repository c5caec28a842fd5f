"""The transactional outbox in SQL: written in the same transaction as the change."""

from __future__ import annotations

from sqlalchemy import String, Uuid, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.statements import insert_or_ignore
from adapters.sql.tables import JsonDocument, UtcDateTime, outbox, registrations
from application.ports.notifications import Broadcast, Notification, Outbox

_PENDING = "pending"


class SqlOutbox(Outbox):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, notification: Notification) -> None:
        """A repeated (cause_id, recipient_id) is ignored: one message per cause and person."""
        statement = insert_or_ignore(
            self._connection, outbox, [outbox.c.cause_id, outbox.c.recipient_id]
        ).values(
            cause_id=notification.cause_id,
            kind=notification.kind.value,
            recipient_id=notification.recipient_id,
            event_id=notification.event_id,
            details=dict(notification.details),
            created_at=notification.created_at,
            status=_PENDING,
            attempts=0,
            next_attempt_at=notification.created_at,
        )
        await self._connection.execute(statement)

    async def broadcast(self, broadcast: Broadcast) -> None:
        """One INSERT ... SELECT over the event's registrations: the attendees never
        travel to this process, however many there are."""
        at = literal(broadcast.created_at, UtcDateTime())
        recipients = select(
            literal(broadcast.cause_id, Uuid()),
            literal(broadcast.kind.value, String()),
            registrations.c.user_id,
            registrations.c.event_id,
            literal(dict(broadcast.details), JsonDocument),
            at,
            literal(_PENDING, String()),
            at,
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
        ]
        statement = insert_or_ignore(
            self._connection, outbox, [outbox.c.cause_id, outbox.c.recipient_id]
        ).from_select(columns, recipients)
        await self._connection.execute(statement)
