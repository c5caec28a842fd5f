"""The worker's side of the SQL outbox: leases, outcomes, the dead letters.

A claim is one statement, `UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE
SKIP LOCKED) RETURNING ...`: on PostgreSQL concurrent workers skip each other's
rows instead of queueing on them, so they never take the same row and never
wait. SQLite has no row locks; there the claim runs in a BEGIN IMMEDIATE
transaction and writers take turns. The lease is `next_attempt_at`, moved to the
lease's end; the claimed attempt number fences every later update.

Lives beside `outbox.py` (the request side, writing rows) rather than in it:
the two are used by different processes and change for different reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import WRITE_LOCK, is_sqlite
from adapters.sql.tables import outbox
from application.ports.delivery import ClaimedNotification, FailedNotification, OutboxQueue
from application.ports.notifications import (
    SECRET_DETAILS,
    Notification,
    NotificationKind,
    without_secrets,
)

PENDING, SENT, FAILED = "pending", "sent", "failed"
#: How `last_error` of a row that was settled without sending begins.
NOT_SENT = "not sent: "
ABANDONED = "abandoned: the worker that made the final attempt never reported back"


class SqlOutboxQueue(OutboxQueue):
    def __init__(self, engine: AsyncEngine) -> None:
        self._reader = engine
        self._engine = (
            engine.execution_options(**{WRITE_LOCK: True}) if is_sqlite(engine) else engine
        )

    async def claim(
        self, *, limit: int, now: datetime, lease: timedelta, max_attempts: int
    ) -> list[ClaimedNotification]:
        due = outbox.c.status == PENDING, outbox.c.next_attempt_at <= now
        abandoned = _lockable(due, outbox.c.attempts >= max_attempts, limit=None)
        claimable = _lockable(due, outbox.c.attempts < max_attempts, limit=limit)
        async with self._engine.begin() as connection:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(abandoned))
                .values(status=FAILED, last_error=ABANDONED)
            )
            rows = (
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(claimable))
                    .values(
                        attempts=outbox.c.attempts + 1,
                        next_attempt_at=now + lease,
                        last_attempt_at=now,
                    )
                    .returning(*outbox.c)
                )
            ).mappings()
            claimed = [
                ClaimedNotification(
                    row_id=row["id"], attempt=row["attempts"], notification=_notification(row)
                )
                for row in rows
            ]
        return sorted(claimed, key=lambda each: each.row_id)

    async def mark_sent(self, claimed: ClaimedNotification, *, now: datetime) -> bool:
        return await self._settle(
            claimed, status=SENT, sent_at=now, last_error=None, **_scrubbed(claimed)
        )

    async def mark_skipped(
        self, claimed: ClaimedNotification, *, now: datetime, reason: str
    ) -> bool:
        return await self._settle(
            claimed, status=SENT, sent_at=now, last_error=NOT_SENT + reason, **_scrubbed(claimed)
        )

    async def retry_later(self, claimed: ClaimedNotification, *, at: datetime, error: str) -> bool:
        return await self._settle(claimed, next_attempt_at=at, last_error=error)

    async def release(self, claimed: ClaimedNotification, *, now: datetime) -> bool:
        return await self._settle(claimed, attempts=outbox.c.attempts - 1, next_attempt_at=now)

    async def dead_letter(self, claimed: ClaimedNotification, *, error: str) -> bool:
        return await self._settle(claimed, status=FAILED, last_error=error, **_scrubbed(claimed))

    async def failed(self, *, limit: int, after_row_id: int = 0) -> list[FailedNotification]:
        statement = (
            select(outbox)
            .where(outbox.c.status == FAILED, outbox.c.id > after_row_id)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with self._reader.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [
            FailedNotification(
                row_id=row["id"],
                notification=_notification(row),
                attempts=row["attempts"],
                last_error=row["last_error"] or "",
                last_attempt_at=row["last_attempt_at"],
            )
            for row in rows
        ]

    async def retry_failed(self, row_ids: Sequence[int] | None, *, now: datetime) -> int:
        statement = update(outbox).where(outbox.c.status == FAILED)
        if row_ids is not None:
            if not row_ids:
                return 0
            statement = statement.where(outbox.c.id.in_(list(row_ids)))
        async with self._engine.begin() as connection:
            result = await connection.execute(
                statement.values(status=PENDING, attempts=0, next_attempt_at=now)
            )
        return int(result.rowcount)

    async def _settle(self, claimed: ClaimedNotification, **values: Any) -> bool:
        """Apply `values` if `claimed` is still the row's current claim."""
        statement = (
            update(outbox)
            .where(
                outbox.c.id == claimed.row_id,
                outbox.c.attempts == claimed.attempt,
                outbox.c.status == PENDING,
            )
            .values(**values)
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount) == 1


def _scrubbed(claimed: ClaimedNotification) -> dict[str, Any]:
    """For an outcome that ends the row: its details without the secrets they held
    (a mailed token), when they held any."""
    details = claimed.notification.details
    if SECRET_DETAILS & details.keys():
        return {"details": without_secrets(details)}
    return {}


def _lockable(
    due: tuple[ColumnElement[bool], ...], attempts: ColumnElement[bool], *, limit: int | None
) -> Select[tuple[int]]:
    """Ids of due rows, oldest due first, that no other transaction has locked."""
    statement = (
        select(outbox.c.id)
        .where(*due, attempts)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return statement


def _notification(row: RowMapping) -> Notification:
    return Notification(
        cause_id=row["cause_id"],
        kind=NotificationKind(row["kind"]),
        recipient_id=row["recipient_id"],
        created_at=row["created_at"],
        event_id=row["event_id"],
        details=dict(row["details"]),
        webhook_id=row["webhook_id"],
        due_at=row["due_at"],
    )
