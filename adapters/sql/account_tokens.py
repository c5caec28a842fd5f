"""Mailed single-use account tokens in SQL, by digest."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.mapping import account_token_from_row, account_token_values
from adapters.sql.tables import account_tokens
from application.ports.repositories import AccountTokenRepository
from domain.users import AccountToken, TokenPurpose


class SqlAccountTokenRepository(AccountTokenRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, token: AccountToken) -> None:
        await self._connection.execute(insert(account_tokens).values(account_token_values(token)))

    async def find(self, digest: str) -> AccountToken | None:
        """FOR UPDATE on PostgreSQL (a second redemption waits, then sees it used);
        SQLite units of work that write hold the database's write lock already."""
        statement = (
            select(account_tokens).where(account_tokens.c.digest == digest).with_for_update()
        )
        row = (await self._connection.execute(statement)).mappings().first()
        return None if row is None else account_token_from_row(row)

    async def save(self, token: AccountToken) -> None:
        await self._connection.execute(
            update(account_tokens)
            .where(account_tokens.c.digest == token.digest)
            .values(used_at=token.used_at, expires_at=token.expires_at)
        )

    async def discard_for_user(self, user_id: UUID, purpose: TokenPurpose) -> None:
        await self._connection.execute(
            delete(account_tokens).where(
                account_tokens.c.user_id == user_id, account_tokens.c.purpose == purpose.value
            )
        )
