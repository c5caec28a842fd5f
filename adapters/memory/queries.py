"""The read side over a MemoryStore's committed state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from adapters.memory.state import MemoryStore
from application.ports.audit import AuditCriteria, AuditEntry, AuditQueries
from application.ports.queries import (
    CalendarEntry,
    CallerQueries,
    CallerView,
    CoOrganizerView,
    EventCriteria,
    EventOrder,
    EventQueries,
    EventSummary,
    EventView,
    Keyset,
    Page,
    PageRequest,
    PersonSummary,
    RegistrationQueries,
    RegistrationView,
    Total,
    UserCriteria,
    UserQueries,
    UserView,
    distance_key,
)
from application.search import (
    SearchDocument,
    SearchQuery,
    city_prefix,
    country_key,
    event_document,
    folded_words,
    parse_query,
)
from domain.errors import InvalidValue
from domain.event import Event, EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.users import User
from domain.values import Coordinates

T = TypeVar("T")
SortKey = tuple[datetime | int | float | None, UUID]


def keyset_page(
    rows: Iterable[T], key: Callable[[T], SortKey], page: PageRequest, *, descending: bool = False
) -> Page[T]:
    """Order by `key`, start strictly after `page.after`, and say where to go on."""
    ordered = sorted(rows, key=lambda row: _comparable(key(row)), reverse=descending)
    if page.after is not None:
        start = _comparable((page.after.sort_value, page.after.id))
        ordered = [
            row
            for row in ordered
            if (_comparable(key(row)) < start if descending else _comparable(key(row)) > start)
        ]
    items = ordered[: page.limit]
    more = len(ordered) > page.limit
    last = key(items[-1]) if items and more else None
    return Page(items=items, next=Keyset(*last) if last else None)


def _comparable(key: SortKey) -> tuple[float, UUID]:
    value, row_id = key
    if isinstance(value, datetime):
        return (value.timestamp(), row_id)
    return (value or 0.0, row_id)


class MemoryEventQueries(EventQueries):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def checked_in_count(self, event_id: UUID) -> int:
        return sum(
            1
            for r in self._store.state.registrations.values()
            if r.event_id == event_id and r.checked_in_at is not None
        )

    async def get(self, event_id: UUID) -> EventView | None:
        event = self._store.state.events.get(event_id)
        return self._view(event) if event else None

    async def search(self, criteria: EventCriteria, page: PageRequest) -> Page[EventView]:
        query = parse_query(criteria.text or "")
        found = [e for e in self._store.state.events.values() if _matches(e, criteria, query)]
        near = criteria.near
        if criteria.order is EventOrder.DISTANCE and near is None:
            raise InvalidValue("sort", "sort=distance needs near")
        if criteria.by_relevance and not query.is_empty:
            return self._by_relevance(found, query, page, near)
        key: Callable[[Event], SortKey] = lambda e: (e.window.starts_at, e.id)  # noqa: E731
        after_type: type = datetime
        if criteria.order is EventOrder.DISTANCE and near is not None:
            key = lambda e: (_distance_key(near, e), e.id)  # noqa: E731
            after_type = int
        if page.after is not None and not _is(page.after.sort_value, after_type):
            raise InvalidValue("cursor", "does not belong to this listing")
        result = keyset_page(found, key, page, descending=criteria.descending)
        return Page(items=[self._view_near(e, near) for e in result.items], next=result.next)

    async def count(self, criteria: EventCriteria, *, exact_up_to: int) -> Total:
        query = parse_query(criteria.text or "")
        found = sum(1 for e in self._store.state.events.values() if _matches(e, criteria, query))
        # Nothing to estimate in memory; above the cap it is flagged like the others.
        return Total(found, exact=found <= exact_up_to)

    async def co_organizers(self, event_id: UUID) -> list[CoOrganizerView]:
        state = self._store.state
        rows = sorted(
            (row for (event, _), row in state.co_organizers.items() if event == event_id),
            key=lambda row: (row.added_at, row.user_id),
        )
        return [
            CoOrganizerView(
                user=PersonSummary(id=row.user_id, full_name=state.users[row.user_id].full_name),
                added_at=row.added_at,
            )
            for row in rows
        ]

    def _view_near(self, event: Event, near: Coordinates | None) -> EventView:
        view = self._view(event)
        return (
            view if near is None else replace(view, distance_km=_distance_key(near, event) / 1000)
        )

    def _by_relevance(
        self, found: list[Event], query: SearchQuery, page: PageRequest, near: Coordinates | None
    ) -> Page[EventView]:
        """Highest rank first, then (starts_at, id); keyset (lead=rank, starts_at, id)."""

        def rank(event: Event) -> int:
            document = _document(event)
            return query.relevance(document.title, document.text)

        def position(
            rank_: float, starts_at: datetime, event_id: UUID
        ) -> tuple[float, float, UUID]:
            return (-rank_, starts_at.timestamp(), event_id)

        keyed = sorted(
            ((position(rank(e), e.window.starts_at, e.id), rank(e), e) for e in found),
            key=lambda entry: entry[0],
        )
        after = page.after
        if after is not None:
            if after.lead is None or not isinstance(after.sort_value, datetime):
                raise InvalidValue("cursor", "does not belong to this listing")
            start = position(after.lead, after.sort_value, after.id)
            keyed = [entry for entry in keyed if entry[0] > start]
        items = keyed[: page.limit]
        more = len(keyed) > page.limit
        next_ = None
        if more and items:
            _, last_rank, last = items[-1]
            next_ = Keyset(last.window.starts_at, last.id, lead=float(last_rank))
        return Page(items=[self._view_near(e, near) for _, _, e in items], next=next_)

    def _view(self, event: Event) -> EventView:
        organizer = self._store.state.users.get(event.organizer_id)
        return EventView(
            id=event.id,
            title=event.title,
            description=event.description,
            location=event.location,
            starts_at=event.window.starts_at,
            ends_at=event.window.ends_at,
            timezone=event.window.timezone,
            capacity=event.capacity.value,
            attendee_count=event.attendee_count,
            waitlist_enabled=event.waitlist_enabled,
            waitlist_count=event.waitlist_count,
            status=event.status,
            organizer=PersonSummary(
                id=event.organizer_id, full_name=organizer.full_name if organizer else ""
            ),
            sequence=event.sequence,
            revision=event.revision,
            created_at=event.created_at,
            updated_at=event.updated_at,
        )


def _document(event: Event) -> SearchDocument:
    loc = event.location
    return event_document(
        title=event.title, description=event.description, venue=loc.venue, city=loc.city
    )


def _city_matches(city: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    prefix = city_prefix(wanted)
    return prefix is not None and folded_words(city).startswith(prefix)


def _matches(event: Event, c: EventCriteria, query: SearchQuery) -> bool:
    loc, starts_at = event.location, event.window.starts_at
    checks = (
        event.status is c.status,
        c.text is None or (not query.is_empty and query.matches(_document(event).text)),
        c.starts_from is None or starts_at >= c.starts_from,
        c.starts_to is None or starts_at <= c.starts_to,
        _city_matches(loc.city, c.city),
        c.country is None or country_key(loc.country) == country_key(c.country),
        not c.available_only or event.available_seats > 0,
        c.organizer_id is None or event.organizer_id == c.organizer_id,
        _within(loc.coordinates, c.near, c.radius_km),
    )
    return all(checks)


def _is(value: object, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _distance_key(near: Coordinates, event: Event) -> int:
    point = event.location.coordinates
    assert point is not None  # only events within the radius are sorted
    return distance_key(near.distance_km(point))


def _within(point: Coordinates | None, near: Coordinates | None, radius_km: float | None) -> bool:
    if near is None or radius_km is None:
        return True
    return point is not None and near.distance_km(point) <= radius_km


class MemoryRegistrationQueries(RegistrationQueries):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def get(self, registration_id: UUID) -> RegistrationView | None:
        registration = self._store.state.registrations.get(registration_id)
        return self._view(registration) if registration else None

    async def status_of(self, event_id: UUID, user_id: UUID) -> RegistrationStatus | None:
        found = (
            r
            for r in self._store.state.registrations.values()
            if r.event_id == event_id and r.user_id == user_id
        )
        registration = next(found, None)
        return None if registration is None else registration.status

    async def attendees(
        self, event_id: UUID, status: RegistrationStatus | None, page: PageRequest
    ) -> Page[RegistrationView]:
        found = [
            r
            for r in self._store.state.registrations.values()
            if r.event_id == event_id and r.is_active and status in (None, r.status)
        ]
        result = keyset_page(found, lambda r: (r.created_at, r.id), page)
        return Page(items=[self._view(r, with_user=True) for r in result.items], next=result.next)

    async def for_user(
        self, user_id: UUID, *, starting_after: datetime | None, page: PageRequest
    ) -> Page[RegistrationView]:
        events = self._store.state.events
        found = [
            r
            for r in self._store.state.registrations.values()
            if r.user_id == user_id
            and r.event_id in events
            and (starting_after is None or events[r.event_id].window.starts_at > starting_after)
        ]
        result = keyset_page(found, lambda r: (events[r.event_id].window.starts_at, r.id), page)
        return Page(items=[self._view(r, with_event=True) for r in result.items], next=result.next)

    async def ticket_code(self, event_id: UUID, user_id: UUID) -> str | None:
        for r in self._store.state.registrations.values():
            if (r.event_id, r.user_id) == (event_id, user_id):
                return r.ticket_code if r.status is RegistrationStatus.CONFIRMED else None
        return None

    async def calendar(self, user_id: UUID, *, ending_after: datetime) -> list[CalendarEntry]:
        events = self._store.state.events
        found = [
            (events[r.event_id], r.status)
            for r in self._store.state.registrations.values()
            if r.user_id == user_id
            and r.is_active
            and r.event_id in events
            and events[r.event_id].status is EventStatus.PUBLISHED
            and events[r.event_id].window.ends_at > ending_after
        ]
        found.sort(key=lambda pair: (pair[0].window.starts_at, pair[0].id))
        views = MemoryEventQueries(self._store)
        return [CalendarEntry(event=views._view(event), status=status) for event, status in found]

    def _view(
        self, registration: Registration, *, with_user: bool = False, with_event: bool = False
    ) -> RegistrationView:
        state = self._store.state
        user = state.users.get(registration.user_id)
        event = state.events.get(registration.event_id)
        return RegistrationView(
            id=registration.id,
            event_id=registration.event_id,
            user_id=registration.user_id,
            status=registration.status,
            waitlist_position=self._position(registration),
            created_at=registration.created_at,
            ticket_code=registration.ticket_code,
            checked_in_at=registration.checked_in_at,
            user=PersonSummary(id=user.id, full_name=user.full_name)
            if with_user and user
            else None,
            event=_summary(event) if with_event and event else None,
        )

    def _position(self, registration: Registration) -> int | None:
        ticket = registration.waitlist_ticket
        if registration.status is not RegistrationStatus.WAITLISTED or ticket is None:
            return None
        return 1 + sum(
            1
            for r in self._store.state.registrations.values()
            if r.event_id == registration.event_id
            and r.status is RegistrationStatus.WAITLISTED
            and (r.waitlist_ticket or 0) < ticket
        )


def _summary(event: Event) -> EventSummary:
    return EventSummary(
        id=event.id,
        title=event.title,
        starts_at=event.window.starts_at,
        ends_at=event.window.ends_at,
        timezone=event.window.timezone,
        status=event.status,
    )


def _mentions(user: User, text: str) -> bool:
    needle = text.casefold()
    return needle in str(user.email) or needle in user.full_name.casefold()


class MemoryUserQueries(UserQueries):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def get(self, user_id: UUID) -> UserView | None:
        user = self._store.state.users.get(user_id)
        return UserView.of(user) if user and not user.is_erased else None

    async def search(self, criteria: UserCriteria, page: PageRequest) -> Page[UserView]:
        found = [
            u
            for u in self._store.state.users.values()
            if not u.is_erased
            and criteria.role in (None, u.role)
            and criteria.is_active in (None, u.is_active)
            and (criteria.text is None or _mentions(u, criteria.text))
        ]
        result = keyset_page(found, lambda u: (None, u.id), page)
        return Page(items=[UserView.of(u) for u in result.items], next=result.next)


class MemoryCallerQueries(CallerQueries):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def caller(self, session_id: UUID) -> CallerView | None:
        session = self._store.state.sessions.get(session_id)
        user = None if session is None else self._store.state.users.get(session.user_id)
        if session is None or user is None:
            return None
        return CallerView(
            session_id=session.id,
            user_id=user.id,
            role=user.role,
            is_active=user.is_active,
            session_expires_at=session.expires_at,
            session_revoked_at=session.revoked_at,
        )


class MemoryAuditQueries(AuditQueries):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def search(self, criteria: AuditCriteria, page: PageRequest) -> Page[AuditEntry]:
        found = [
            entry
            for entry in self._store.state.audit
            if criteria.actor_id in (None, entry.actor_id)
            and criteria.subject_id in (None, entry.subject_id)
            and criteria.action in (None, entry.action)
            and (criteria.since is None or entry.at >= criteria.since)
            and (criteria.until is None or entry.at < criteria.until)
        ]
        if page.after is not None and not isinstance(page.after.sort_value, datetime):
            raise InvalidValue("cursor", "does not belong to this listing")
        return keyset_page(found, lambda entry: (entry.at, entry.id), page, descending=True)
