"""Users in SQL."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.mapping import user_from_row, user_values
from adapters.sql.statements import cached_insert_or_ignore
from adapters.sql.tables import users
from application.ports.repositories import UserRepository
from domain.errors import EmailTaken
from domain.users import Role, User
from domain.values import EmailAddress

#: The unique index on lower(email), as ON CONFLICT names it (one object, so that
#: the statement built from it is built once).
_EMAIL_KEY = (func.lower(users.c.email),)
#: An erased account's row is a tombstone: to the repository it no longer exists.
_LIVE = users.c.erased_at.is_(None)
_BY_ID = select(users).where(users.c.id == bindparam("id"), _LIVE)
_LOCKED = {
    None: _BY_ID,
    "update": _BY_ID.with_for_update(),
    "share": _BY_ID.with_for_update(read=True),
}


class SqlUserRepository(UserRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, user_id: UUID) -> User | None:
        return await self._load(user_id, lock=None)

    async def get_for_update(self, user_id: UUID) -> User | None:
        """FOR UPDATE on PostgreSQL; SQLite units of work hold the write lock already."""
        return await self._load(user_id, lock="update")

    async def get_for_share(self, user_id: UUID) -> User | None:
        """FOR SHARE on PostgreSQL: blocks UPDATEs of the row, not other sharers."""
        return await self._load(user_id, lock="share")

    async def _load(self, user_id: UUID, *, lock: Literal["update", "share"] | None) -> User | None:
        row = (await self._connection.execute(_LOCKED[lock], {"id": user_id})).mappings().first()
        return None if row is None else user_from_row(row)

    async def get_by_email(self, email: EmailAddress) -> User | None:
        # lower(email) matches the unique index; stored emails are lower-case already.
        statement = select(users).where(func.lower(users.c.email) == str(email), _LIVE)
        row = (await self._connection.execute(statement)).mappings().first()
        return None if row is None else user_from_row(row)

    async def add(self, user: User) -> None:
        statement = cached_insert_or_ignore(self._connection, users, _EMAIL_KEY, users.c.id)
        if (await self._connection.execute(statement, user_values(user))).first() is None:
            raise EmailTaken()

    async def save(self, user: User) -> None:
        values = user_values(user)
        del values["id"], values["created_at"]
        await self._connection.execute(update(users).where(users.c.id == user.id).values(values))

    async def lock_active_admins(self) -> int:
        statement = (
            select(users.c.id)
            .where(users.c.role == Role.ADMIN.value, users.c.is_active)
            .order_by(users.c.id)
            .with_for_update()
        )
        return len((await self._connection.execute(statement)).all())
