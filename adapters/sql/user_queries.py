"""The user read side: never the password hash."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import fold
from adapters.sql.mapping import user_view_from_row
from adapters.sql.paging import keyset_order, page_of
from adapters.sql.reading import fetch_all, fetch_first, read_only
from adapters.sql.tables import users
from application.ports.queries import (
    Keyset,
    Page,
    PageRequest,
    UserCriteria,
    UserQueries,
    UserView,
)

_VIEW_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.full_name,
    users.c.role,
    users.c.is_active,
    users.c.email_verified,
    users.c.created_at,
    users.c.updated_at,
)

#: Erased accounts are tombstones, never shown (GET /users/{id} is 404 for them).
_LIVE = users.c.erased_at.is_(None)


class SqlUserQueries(UserQueries):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)
        self._postgres = engine.dialect.name == "postgresql"

    async def get(self, user_id: UUID) -> UserView | None:
        statement = select(*_VIEW_COLUMNS).where(users.c.id == user_id, _LIVE)
        row = await fetch_first(self._engine, statement)
        return None if row is None else user_view_from_row(row)

    async def search(self, criteria: UserCriteria, page: PageRequest) -> Page[UserView]:
        """Ordered by id, which for UUIDv7 ids is the order of creation."""
        statement = select(*_VIEW_COLUMNS).where(_LIVE)
        if criteria.role is not None:
            statement = statement.where(users.c.role == criteria.role.value)
        if criteria.is_active is not None:
            statement = statement.where(users.c.is_active == criteria.is_active)
        if criteria.text:
            needle = fold(criteria.text)
            statement = statement.where(
                or_(
                    self._contains(users.c.email, needle),
                    self._contains(self._folded(users.c.full_name), needle),
                )
            )
        statement = keyset_order(statement, page, id_column=users.c.id)
        rows = await fetch_all(self._engine, statement)
        views = [user_view_from_row(row) for row in rows]
        return page_of(views, page, lambda view: Keyset(None, view.id))

    def _folded(self, column: ColumnElement[str]) -> ColumnElement[str]:
        # PostgreSQL's lower() is Unicode-aware in a UTF-8 database; SQLite's is
        # ASCII-only, so there Python's casefold is registered as a function.
        return func.lower(column) if self._postgres else func.eventapi_fold(column)

    def _contains(self, haystack: ColumnElement[str], needle: str) -> ColumnElement[bool]:
        position = func.strpos if self._postgres else func.instr
        return position(haystack, needle) > 0
