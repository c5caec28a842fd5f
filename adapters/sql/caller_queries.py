"""Who is behind a session, on every signed-in request, in one indexed read."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.reading import fetch_first, read_only
from adapters.sql.tables import sessions, users
from application.ports.queries import CallerQueries, CallerView
from domain.users import Role

#: Built once: this runs on every signed-in request.
_CALLER = (
    select(
        sessions.c.id,
        sessions.c.user_id,
        sessions.c.expires_at,
        sessions.c.revoked_at,
        users.c.role,
        users.c.is_active,
    )
    .join(users, users.c.id == sessions.c.user_id)
    .where(sessions.c.id == bindparam("id"))
)


class SqlCallerQueries(CallerQueries):
    """The session row joined with its user's, both by primary key; the spent
    refresh-token digests are never read here."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)

    async def caller(self, session_id: UUID) -> CallerView | None:
        row = await fetch_first(self._engine, _CALLER, {"id": session_id})
        if row is None:
            return None
        return CallerView(
            session_id=row["id"],
            user_id=row["user_id"],
            role=Role(row["role"]),
            is_active=row["is_active"],
            session_expires_at=row["expires_at"],
            session_revoked_at=row["revoked_at"],
        )
