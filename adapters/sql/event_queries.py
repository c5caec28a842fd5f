"""The event read side: one SELECT per call, events joined to their organizer.

Text search reads the folded search columns written with every save
(adapters/sql/search_columns.py) and follows the `q` syntax of
application/search.py: PostgreSQL compiles the parsed query to a `tsquery`
(`:*` word prefixes, `<->` phrases) against the GIN expression index of
migration 0004; SQLite, the embedded default, compiles it to `LIKE`s over the
same columns. Both match the very same words, so they agree with each other and
with the in-memory adapter. Relevance is counted with `LIKE`s on both.
Distance search prefilters on a bounding box over the indexed coordinates,
then keeps rows within the exact great-circle distance; sorted by distance, it
orders by whole metres (`distance_key`) so keysets compare integers. `count` is
capped: it counts at most one row past the exact limit, and beyond it
PostgreSQL's planner estimate stands in (SQLite, embedded and small, counts).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Uuid,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.explain import Explain
from adapters.sql.mapping import event_view_from_row
from adapters.sql.paging import keyset_order, page_of
from adapters.sql.reading import fetch_all, fetch_first, read_only
from adapters.sql.tables import UtcDateTime, event_co_organizers, events, registrations, users
from application.ports.queries import (
    CoOrganizerView,
    EventCriteria,
    EventOrder,
    EventQueries,
    EventView,
    Keyset,
    Page,
    PageRequest,
    PersonSummary,
    Total,
)
from application.search import (
    TEXT_POINTS,
    TITLE_POINTS,
    Phrase,
    SearchQuery,
    city_prefix,
    country_key,
    parse_query,
)
from domain.errors import InvalidValue
from domain.values import Coordinates

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_KM / 360
#: The exact SQL of the GIN index expressions (migration 0004); the planner matches
#: index expressions structurally, so constants are inlined, never bound.
SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_SPACE: ColumnElement[str] = literal_column("' '")


def search_document() -> ColumnElement[Any]:
    """What the ix_events_search_text index holds (PostgreSQL)."""
    return func.to_tsvector(SIMPLE, events.c.search_text)


def tsquery_text(query: SearchQuery) -> str:
    """The `to_tsquery` form of a parsed query: words are letters and digits only,
    so quoting them is all the escaping there is."""

    def phrase(p: Phrase) -> str:
        *whole, last = p.words
        text = " <-> ".join([*(f"'{w}'" for w in whole), f"'{last}':*"])
        return f"!({text})" if p.negated else f"({text})"

    return " & ".join("(" + " | ".join(phrase(p) for p in group) + ")" for group in query.groups)


def _like(column: ColumnElement[Any], p: Phrase) -> ColumnElement[bool]:
    """Phrase.found_in, in SQL, on both dialects."""
    return _SPACE.op("||")(column).like(p.like_pattern)


def relevance(query: SearchQuery) -> ColumnElement[int]:
    """SearchQuery.relevance, in SQL."""
    points: ColumnElement[int] = literal(0, Integer())
    for p in query.wanted:
        points = points + case((_like(events.c.search_text, p), TEXT_POINTS), else_=0)
        points = points + case((_like(events.c.search_title, p), TITLE_POINTS), else_=0)
    return points


class SqlEventQueries(EventQueries):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)
        self._postgres = engine.dialect.name == "postgresql"

    async def get(self, event_id: UUID) -> EventView | None:
        statement = _views().where(events.c.id == event_id)
        row = await fetch_first(self._engine, statement)
        return None if row is None else event_view_from_row(row)

    async def checked_in_count(self, event_id: UUID) -> int:
        statement = (
            select(func.count().label("checked_in"))
            .select_from(registrations)
            .where(registrations.c.event_id == event_id, registrations.c.checked_in_at.is_not(None))
        )
        row = await fetch_first(self._engine, statement)
        return int(row["checked_in"]) if row is not None else 0

    async def co_organizers(self, event_id: UUID) -> list[CoOrganizerView]:
        statement = (
            select(event_co_organizers.c.user_id, event_co_organizers.c.added_at, users.c.full_name)
            .join(users, users.c.id == event_co_organizers.c.user_id)
            .where(event_co_organizers.c.event_id == event_id)
            .order_by(event_co_organizers.c.added_at, event_co_organizers.c.user_id)
        )
        return [
            CoOrganizerView(
                user=PersonSummary(id=row["user_id"], full_name=row["full_name"]),
                added_at=row["added_at"],
            )
            for row in await fetch_all(self._engine, statement)
        ]

    async def search(self, criteria: EventCriteria, page: PageRequest) -> Page[EventView]:
        statement = self.search_statement(criteria, page)
        rows = await fetch_all(self._engine, statement)
        with_distance = criteria.near is not None
        if _ranked(criteria):
            ranked = [
                (
                    event_view_from_row(row),
                    row["rank"],
                    row["distance_m"] if with_distance else None,
                )
                for row in rows
            ]
            found = page_of(
                ranked,
                page,
                lambda entry: Keyset(entry[0].starts_at, entry[0].id, lead=entry[1]),
            )
            return Page(
                items=[_with_distance(view, metres) for view, _, metres in found.items],
                next=found.next,
            )
        by_distance = criteria.order is EventOrder.DISTANCE
        views = [
            (event_view_from_row(row), row["distance_m"] if with_distance else None) for row in rows
        ]
        found_ = page_of(
            views,
            page,
            lambda pair: Keyset(pair[1] if by_distance else pair[0].starts_at, pair[0].id),
        )
        return Page(
            items=[_with_distance(view, metres) for view, metres in found_.items],
            next=found_.next,
        )

    def search_statement(self, criteria: EventCriteria, page: PageRequest) -> Select[Any]:
        """The one SELECT behind `search` (public for EXPLAIN in tests and scripts).

        The page's ids are picked first, from index entries alone where possible
        (the listing index carries the coordinates, so a distance search need not
        visit the rows it rejects); only the rows of the page are then read and
        joined to their organizer.
        """
        metres = None if criteria.near is None else self._distance_m(criteria.near)
        if criteria.order is EventOrder.DISTANCE and metres is None:
            raise InvalidValue("sort", "sort=distance needs near")
        if _ranked(criteria):
            return self._by_relevance(criteria, page, metres)
        sort_column: ColumnElement[Any] = events.c.starts_at
        if criteria.order is EventOrder.DISTANCE and metres is not None:
            sort_column = metres
        page_ids = keyset_order(
            select(events.c.id).where(*self._filters(criteria)),
            page,
            sort_column=sort_column,
            id_column=events.c.id,
            descending=criteria.descending,
            sort_by_metres=criteria.order is EventOrder.DISTANCE,
        )
        ordering = (sort_column, events.c.id)
        views = _views() if metres is None else _views().add_columns(metres.label("distance_m"))
        return views.where(events.c.id.in_(page_ids.scalar_subquery())).order_by(
            *(column.desc() if criteria.descending else column.asc() for column in ordering)
        )

    def _by_relevance(
        self, criteria: EventCriteria, page: PageRequest, metres: ColumnElement[int] | None
    ) -> Select[Any]:
        """Best first, then (starts_at, id): the page's ids and ranks are picked
        among the matches, then only the rows of the page are read."""
        rank = relevance(parse_query(criteria.text or ""))
        picked = select(events.c.id, rank.label("rank")).where(*self._filters(criteria))
        if page.after is not None:
            after = page.after
            if after.lead is None or not isinstance(after.sort_value, datetime):
                raise InvalidValue("cursor", "does not belong to this listing")
            position = tuple_(events.c.starts_at, events.c.id)
            start = tuple_(literal(after.sort_value, UtcDateTime()), literal(after.id, Uuid()))
            picked = picked.where(
                or_(rank < after.lead, and_(rank == after.lead, position > start))
            )
        page_rows = (
            picked.order_by(rank.desc(), events.c.starts_at, events.c.id)
            .limit(page.limit + 1)
            .subquery("page_rows")
        )
        views = _views() if metres is None else _views().add_columns(metres.label("distance_m"))
        return (
            views.add_columns(page_rows.c.rank)
            .join(page_rows, page_rows.c.id == events.c.id)
            .order_by(page_rows.c.rank.desc(), events.c.starts_at, events.c.id)
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
        if c.text is not None:  # a query without words finds nothing
            query = parse_query(c.text)
            filters.append(false() if query.is_empty else self._text(query))
        if c.starts_from is not None:
            filters.append(events.c.starts_at >= c.starts_from)
        if c.starts_to is not None:
            filters.append(events.c.starts_at <= c.starts_to)
        if c.city is not None:
            prefix = city_prefix(c.city)
            filters.append(false() if prefix is None else self._city(prefix))
        if c.country is not None:
            filters.append(events.c.country_key == country_key(c.country))
        if c.available_only:
            filters.append(events.c.attendee_count < events.c.capacity)
        if c.organizer_id is not None:
            filters.append(events.c.organizer_id == c.organizer_id)
        if c.near is not None and c.radius_km is not None:
            filters.extend(self._near(c.near, c.radius_km))
        return filters

    def _text(self, query: SearchQuery) -> ColumnElement[bool]:
        if self._postgres:
            return search_document().op("@@")(func.to_tsquery(SIMPLE, tsquery_text(query)))
        return and_(
            *(or_(*(_matches(events.c.search_text, p) for p in group)) for group in query.groups)
        )

    def _city(self, prefix: str) -> ColumnElement[bool]:
        """city_key starts with `prefix`: on PostgreSQL a range over the byte-ordered
        (COLLATE "C") index of migration 0004, which holds for any plan, generic
        ones included; SQLite reads a LIKE (folded words hold no wildcard)."""
        if self._postgres:
            key = events.c.city_key.collate("C")
            return and_(key >= prefix, key < _next_prefix(prefix))
        return events.c.city_key.like(f"{prefix}%")

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


def _with_distance(view: EventView, metres: int | None) -> EventView:
    return view if metres is None else replace(view, distance_km=metres / 1000)


def _next_prefix(prefix: str) -> str:
    """The least string above every string starting with `prefix` (byte order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _ranked(criteria: EventCriteria) -> bool:
    return criteria.by_relevance and not parse_query(criteria.text or "").is_empty


def _matches(column: ColumnElement[Any], p: Phrase) -> ColumnElement[bool]:
    found = _like(column, p)
    return not_(found) if p.negated else found


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
