"""Calendar feeds in SQL: one row per user, found by the digest of its token."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.tables import calendar_feeds
from application.ports.repositories import CalendarFeed, CalendarFeedRepository


class SqlCalendarFeedRepository(CalendarFeedRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def replace(self, feed: CalendarFeed) -> None:
        # Delete then insert, in the caller's transaction: portable (no upsert
        # dialects) and the old digest is gone once it commits.
        await self._connection.execute(
            delete(calendar_feeds).where(calendar_feeds.c.user_id == feed.user_id)
        )
        await self._connection.execute(
            insert(calendar_feeds).values(
                user_id=feed.user_id, digest=feed.digest, created_at=feed.created_at
            )
        )

    async def find(self, digest: str) -> CalendarFeed | None:
        return await self._one(calendar_feeds.c.digest == digest)

    async def for_user(self, user_id: UUID) -> CalendarFeed | None:
        return await self._one(calendar_feeds.c.user_id == user_id)

    async def discard(self, user_id: UUID) -> bool:
        result = await self._connection.execute(
            delete(calendar_feeds).where(calendar_feeds.c.user_id == user_id)
        )
        return bool(result.rowcount)

    async def _one(self, condition: object) -> CalendarFeed | None:
        statement = select(calendar_feeds).where(condition)  # type: ignore[arg-type]
        row = (await self._connection.execute(statement)).mappings().first()
        if row is None:
            return None
        return CalendarFeed(
            user_id=row["user_id"], digest=row["digest"], created_at=row["created_at"]
        )
