"""Keyset pagination: WHERE (sort, id) > (:sort, :id) ORDER BY sort, id LIMIT n + 1.

No OFFSET anywhere: a deep page costs what the first one does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Select, Uuid, literal, tuple_

from adapters.sql.tables import UtcDateTime
from application.ports.queries import Keyset, Page, PageRequest
from domain.errors import InvalidValue

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])


def keyset_order(
    statement: S,
    page: PageRequest,
    *,
    id_column: ColumnElement[Any],
    sort_column: ColumnElement[Any] | None = None,
    descending: bool = False,
    sort_by_metres: bool = False,
) -> S:
    """Start after `page.after`, order by (sort, id) and fetch one row more than asked.

    The sort column holds moments, or whole metres with `sort_by_metres`; a cursor
    of the other kind is refused (a 400, never a driver error)."""
    columns = [id_column] if sort_column is None else [sort_column, id_column]
    if page.after is not None:
        after = page.after
        if sort_column is None:
            bound: list[ColumnElement[Any]] = [literal(after.id, Uuid())]
        else:
            value = after.sort_value
            if sort_by_metres and isinstance(value, int) and not isinstance(value, bool):
                start: ColumnElement[Any] = literal(value, BigInteger())
            elif not sort_by_metres and isinstance(value, datetime):
                start = literal(value, UtcDateTime())
            else:
                raise InvalidValue("cursor", "does not belong to this listing")
            bound = [start, literal(after.id, Uuid())]
        row, first = tuple_(*columns), tuple_(*bound)
        statement = statement.where(row < first if descending else row > first)
    ordering = [column.desc() if descending else column.asc() for column in columns]
    return statement.order_by(*ordering).limit(page.limit + 1)


def page_of(rows: Sequence[T], page: PageRequest, keyset: Callable[[T], Keyset]) -> Page[T]:
    """The first `limit` rows, and where the next page starts if there is one."""
    items = list(rows[: page.limit])
    more = len(rows) > page.limit
    return Page(items=items, next=keyset(items[-1]) if more and items else None)
