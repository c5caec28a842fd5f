"""Sign-in sessions and their spent refresh-token digests in SQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import RowMapping, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.mapping import session_from_row, session_values
from adapters.sql.statements import insert_or_ignore
from adapters.sql.tables import refresh_tokens, sessions
from application.ports.repositories import SessionRepository
from domain.users import AuthSession

_WITH_SPENT = (
    select(sessions, refresh_tokens.c.digest.label("spent_digest"))
    .outerjoin(refresh_tokens, refresh_tokens.c.session_id == sessions.c.id)
    .where(sessions.c.id == bindparam("id"))
)


class SqlSessionRepository(SessionRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        #: The spent digests each session had when this unit of work loaded it, so
        #: that `save` inserts only the new ones.
        self._stored_spent: dict[UUID, frozenset[str]] = {}

    async def get(self, session_id: UUID) -> AuthSession | None:
        """The session with its spent digests, in one statement (a row per digest)."""
        rows = (await self._connection.execute(_WITH_SPENT, {"id": session_id})).mappings().all()
        if not rows:
            return None
        spent = frozenset(row["spent_digest"] for row in rows if row["spent_digest"] is not None)
        self._stored_spent[session_id] = spent
        return session_from_row(rows[0], spent)

    async def find_by_token(self, digest: str) -> AuthSession | None:
        """Current or spent digest; the session row stays locked (FOR UPDATE on
        PostgreSQL, the write lock on SQLite) until the unit of work ends.

        The session is found first and then locked and read by its id, so a
        caller that waited for the lock reads the session as the lock holder
        left it. (One locking statement matching on the digest would not: after
        the wait, PostgreSQL re-checks only the row against the digest, with the
        spent digests as of before the wait, and a token the lock holder had
        just rotated away would match nothing: "unknown" rather than "reused",
        and the reuse would go unpunished.)
        """
        spent_by = (
            select(refresh_tokens.c.session_id)
            .where(refresh_tokens.c.digest == digest)
            .scalar_subquery()
        )
        found = select(sessions.c.id).where(
            or_(sessions.c.current_token_digest == digest, sessions.c.id == spent_by)
        )
        session_id = (await self._connection.execute(found)).scalar()
        if session_id is None:
            return None
        locked = select(sessions).where(sessions.c.id == session_id).with_for_update()
        row = (await self._connection.execute(locked)).mappings().first()
        return None if row is None else await self._complete(row)

    async def add(self, session: AuthSession) -> None:
        await self._connection.execute(insert(sessions).values(session_values(session)))
        self._stored_spent[session.id] = frozenset()
        await self._store_spent(session)

    async def save(self, session: AuthSession) -> None:
        await self._connection.execute(
            update(sessions)
            .where(sessions.c.id == session.id)
            .values(
                current_token_digest=session.current_token_digest,
                expires_at=session.expires_at,
                revoked_at=session.revoked_at,
            )
        )
        await self._store_spent(session)

    async def revoke_all_for_user(
        self, user_id: UUID, now: datetime, *, except_session: UUID | None = None
    ) -> None:
        statement = update(sessions).where(
            sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None)
        )
        if except_session is not None:
            statement = statement.where(sessions.c.id != except_session)
        await self._connection.execute(statement.values(revoked_at=now))

    async def _complete(self, row: RowMapping) -> AuthSession:
        statement = select(refresh_tokens.c.digest).where(refresh_tokens.c.session_id == row["id"])
        spent = frozenset((await self._connection.execute(statement)).scalars())
        self._stored_spent[row["id"]] = spent
        return session_from_row(row, spent)

    async def _store_spent(self, session: AuthSession) -> None:
        new = session.spent_digests - self._stored_spent.get(session.id, frozenset())
        if new:
            statement = insert_or_ignore(self._connection, refresh_tokens, ["digest"])
            await self._connection.execute(
                statement, [{"digest": digest, "session_id": session.id} for digest in new]
            )
        self._stored_spent[session.id] = frozenset(session.spent_digests)
