"""The event read side: one SELECT per call, events joined to their organizer.

Full-text search is PostgreSQL's (`websearch_to_tsquery` against the GIN
expression index of the initial migration); SQLite, the embedded default,
matches every term as a case-insensitive substring instead, as the in-memory
adapter does. Distance search prefilters on a bounding box over the indexed
coordinates, then keeps rows within the exact great-circle distance; sorted by
distance, it orders by whole metres (`distance_key`) so keysets compare integers.
`count` is capped: it counts at most one row past the exact limit, and beyond it
PostgreSQL's planner estimate stands in (SQLite, embedded and small, counts).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import fold
from adapters.sql.explain import Explain
from adapters.sql.mapping import event_view_from_row
from adapters.sql.paging import keyset_order, page_of
from adapters.sql.reading import read_only
from adapters.sql.tables import events, users
from application.ports.queries import (
    EventCriteria,
    EventQueries,
    EventSort,
    EventView,
    Keyset,
    Page,
    PageRequest,
    Total,
)
from domain.errors import InvalidValue
from domain.values import Coordinates

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_KM / 360
#: The exact SQL of the GIN index expression (migration 0001); the planner matches
#: index expressions textually, so constants are inlined, never bound.
SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_SPACE: ColumnElement[str] = literal_column("' '")


def search_document() -> ColumnElement[Any]:
    text: ColumnElement[Any] = events.c.title
    for column in (events.c.description, events.c.venue, events.c.city):
        text = text.op("||")(_SPACE).op("||")(column)
    return func.to_tsvector(SIMPLE, text)


class SqlEventQueries(EventQueries):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)
        self._postgres = engine.dialect.name == "postgresql"

    async def get(self, event_id: UUID) -> EventView | None:
        statement = _views().where(events.c.id == event_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).mappings().first()
        return None if row is None else event_view_from_row(row)

    async def search(self, criteria: EventCriteria, page: PageRequest) -> Page[EventView]:
        statement = self.search_statement(criteria, page)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        by_distance = criteria.sort is EventSort.DISTANCE
        views = [
            (event_view_from_row(row), row["distance_m"] if criteria.near else None) for row in rows
        ]
        found = page_of(
            views,
            page,
            lambda pair: Keyset(pair[1] if by_distance else pair[0].starts_at, pair[0].id),
        )
        return Page(
            items=[
                view if metres is None else replace(view, distance_km=metres / 1000)
                for view, metres in found.items
            ],
            next=found.next,
        )

    def search_statement(self, criteria: EventCriteria, page: PageRequest) -> Select[Any]:
        """The one SELECT behind `search` (public for EXPLAIN in tests and scripts).

        The page's ids are picked first, from index entries alone where possible
        (the listing index carries the coordinates, so a distance search need not
        visit the rows it rejects); only the rows of the page are then read and
        joined to their organizer.
        """
        metres = None if criteria.near is None else self._distance_m(criteria.near)
        sort_column: ColumnElement[Any] = events.c.starts_at
        if criteria.sort is EventSort.DISTANCE:
            if metres is None:
                raise InvalidValue("sort", "sort=distance needs near")
            sort_column = metres
        page_ids = keyset_order(
            select(events.c.id).where(*self._filters(criteria)),
            page,
            sort_column=sort_column,
            id_column=events.c.id,
            descending=criteria.descending,
            sort_by_metres=criteria.sort is EventSort.DISTANCE,
        )
        ordering = (sort_column, events.c.id)
        views = _views() if metres is None else _views().add_columns(metres.label("distance_m"))
        return views.where(events.c.id.in_(page_ids.scalar_subquery())).order_by(
            *(column.desc() if criteria.descending else column.asc() for column in ordering)
        )

    async def count(self, criteria: EventCriteria, *, exact_up_to: int) -> Total:
        capped, estimate = self.count_statements(criteria, exact_up_to=exact_up_to)
        async with self._engine.connect() as connection:
            found = (await connection.execute(capped)).scalar_one()
            if found <= exact_up_to:
                return Total(found, exact=True)
            if self._postgres:
                plan = (await connection.execute(Explain(estimate))).scalars().first() or ""
                rows = re.search(r"rows=(\d+)", plan)
                guess = int(rows[1]) if rows else 0
            else:
                guess = (await connection.execute(estimate)).scalar_one()
        return Total(max(guess, exact_up_to + 1), exact=False)

    def count_statements(
        self, criteria: EventCriteria, *, exact_up_to: int
    ) -> tuple[Select[Any], Select[Any]]:
        """The capped count (public for EXPLAIN), and what stands in above the cap:
        on PostgreSQL the statement whose planner row estimate is read (EXPLAIN, not
        run), on SQLite a full count."""
        matching = select(literal(1)).select_from(events).where(*self._filters(criteria))
        capped = select(func.count()).select_from(matching.limit(exact_up_to + 1).subquery())
        if self._postgres:
            return capped, matching
        return capped, select(func.count()).select_from(matching.subquery())

    def _filters(self, c: EventCriteria) -> list[ColumnElement[bool]]:
        filters: list[ColumnElement[bool]] = [events.c.status == c.status.value]
        if c.text is not None and c.text.split():
            filters.append(self._text(c.text))
        if c.starts_from is not None:
            filters.append(events.c.starts_at >= c.starts_from)
        if c.starts_to is not None:
            filters.append(events.c.starts_at <= c.starts_to)
        if c.city is not None:
            filters.append(events.c.city_key == fold(c.city))
        if c.country is not None:
            filters.append(events.c.country_key == fold(c.country))
        if c.available_only:
            filters.append(events.c.attendee_count < events.c.capacity)
        if c.organizer_id is not None:
            filters.append(events.c.organizer_id == c.organizer_id)
        if c.near is not None and c.radius_km is not None:
            filters.extend(self._near(c.near, c.radius_km))
        return filters

    def _text(self, text: str) -> ColumnElement[bool]:
        if self._postgres:
            query = func.websearch_to_tsquery(SIMPLE, text)
            return search_document().op("@@")(query)
        fields = (events.c.title, events.c.description, events.c.venue, events.c.city)
        return and_(
            *(
                or_(*(func.instr(func.eventapi_fold(field), term) > 0 for field in fields))
                for term in fold(text).split()
            )
        )

    def _near(self, near: Coordinates, radius_km: float) -> list[ColumnElement[bool]]:
        filters = _bounding_box(near, radius_km)
        filters.append(self._distance_km(near) <= radius_km)
        return filters

    def _distance_km(self, near: Coordinates) -> ColumnElement[float]:
        if self._postgres:
            return _haversine_sql(near)
        return func.eventapi_distance_km(
            near.latitude, near.longitude, events.c.latitude, events.c.longitude
        )

    def _distance_m(self, near: Coordinates) -> ColumnElement[int]:
        """application.ports.queries.distance_key in SQL: whole metres, rounded down."""
        metres = self._distance_km(near) * 1000
        if self._postgres:
            return cast(func.floor(metres), BigInteger)
        return cast(metres, Integer)  # SQLite truncates towards zero: floor, as >= 0


def _views() -> Select[Any]:
    return select(events, users.c.full_name.label("organizer_name")).join(
        users, users.c.id == events.c.organizer_id
    )


def _bounding_box(near: Coordinates, radius_km: float) -> list[ColumnElement[bool]]:
    """Latitude/longitude ranges that contain the circle (a little generously)."""
    lat, lng = events.c.latitude, events.c.longitude
    dlat = radius_km / KM_PER_DEGREE * 1.01 + 1e-9
    south, north = near.latitude - dlat, near.latitude + dlat
    filters: list[ColumnElement[bool]] = [lat.between(max(south, -90.0), min(north, 90.0))]
    if south <= -90 or north >= 90:
        return filters  # the circle covers a pole: every longitude is in reach
    widest = max(abs(south), abs(north))
    dlng = dlat / math.cos(math.radians(widest))
    if dlng >= 180:
        return filters
    west, east = near.longitude - dlng, near.longitude + dlng
    if west < -180:
        filters.append(or_(lng >= west + 360, lng <= east))
    elif east > 180:
        filters.append(or_(lng >= west, lng <= east - 360))
    else:
        filters.append(lng.between(west, east))
    return filters


def _haversine_sql(near: Coordinates) -> ColumnElement[float]:
    """Coordinates.distance_km, in SQL (PostgreSQL)."""
    lat1 = math.radians(near.latitude)
    lat2 = func.radians(events.c.latitude)
    dlat = lat2 - lat1
    dlng = func.radians(events.c.longitude - near.longitude)
    h = func.power(func.sin(dlat / 2), 2) + math.cos(lat1) * func.cos(lat2) * func.power(
        func.sin(dlng / 2), 2
    )
    return 2 * EARTH_RADIUS_KM * func.asin(func.least(1.0, func.sqrt(h)))
