"""Purging what has outlived its use: old sent notifications, expired sessions,
idempotency keys past their 24 hours.

Each purge is one short transaction over at most `limit` rows, picked with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (so workers purging at once take
different rows and never wait for each other or for a refresh in progress),
and under the write lock on SQLite.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import WRITE_LOCK, is_sqlite
from adapters.sql.outbox_queue import SENT
from adapters.sql.tables import (
    account_tokens,
    idempotency_keys,
    outbox,
    refresh_tokens,
    sessions,
    webhook_attempts,
)
from application.ports.housekeeping import ExpiredRecords


class SqlExpiredRecords(ExpiredRecords):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = (
            engine.execution_options(**{WRITE_LOCK: True}) if is_sqlite(engine) else engine
        )

    async def purge_sent_notifications(self, *, sent_before: datetime, limit: int) -> int:
        batch = (
            select(outbox.c.id)
            .where(outbox.c.status == SENT, outbox.c.sent_at < sent_before)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(outbox).where(outbox.c.id.in_(batch)))
        return int(result.rowcount)

    async def purge_expired_sessions(self, *, expired_before: datetime, limit: int) -> int:
        batch = (
            select(sessions.c.id)
            .where(sessions.c.expires_at < expired_before)
            .order_by(sessions.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as connection:
            ids = list((await connection.execute(batch)).scalars())
            if not ids:
                return 0
            await connection.execute(
                delete(refresh_tokens).where(refresh_tokens.c.session_id.in_(ids))
            )
            result = await connection.execute(delete(sessions).where(sessions.c.id.in_(ids)))
        return int(result.rowcount)

    async def purge_expired_account_tokens(self, *, expired_before: datetime, limit: int) -> int:
        batch = (
            select(account_tokens.c.digest)
            .where(account_tokens.c.expires_at < expired_before)
            .order_by(account_tokens.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as connection:
            digests = list((await connection.execute(batch)).scalars())
            if not digests:
                return 0
            result = await connection.execute(
                delete(account_tokens).where(account_tokens.c.digest.in_(digests))
            )
        return int(result.rowcount)

    async def purge_webhook_attempts(self, *, before: datetime, limit: int) -> int:
        batch = (
            select(webhook_attempts.c.id)
            .where(webhook_attempts.c.at < before)
            .order_by(webhook_attempts.c.at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(webhook_attempts).where(webhook_attempts.c.id.in_(batch))
            )
        return int(result.rowcount)

    async def purge_idempotency_keys(self, *, created_before: datetime, limit: int) -> int:
        # (caller, key) is the primary key; a row value IN (...) works on both dialects.
        batch = (
            select(idempotency_keys.c.caller, idempotency_keys.c.key)
            .where(idempotency_keys.c.created_at < created_before)
            .order_by(idempotency_keys.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as connection:
            doomed = [tuple(row) for row in await connection.execute(batch)]
            if not doomed:
                return 0
            result = await connection.execute(
                delete(idempotency_keys).where(
                    tuple_(idempotency_keys.c.caller, idempotency_keys.c.key).in_(doomed)
                )
            )
        return int(result.rowcount)
