"""The read side: search criteria, keyset pages and read models.

Queries return views (plain data for answering callers), never aggregates, so an
adapter can serve them with one flat SELECT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from domain.errors import InvalidValue
from domain.event import EventStatus
from domain.registration import RegistrationStatus
from domain.users import Role, User
from domain.values import Coordinates, Location

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
#: `include=total` counts exactly up to this many matches, then estimates.
EXACT_TOTAL_UP_TO = 10_000


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page ended: the sort value of its last row (None when rows are
    ordered by id alone; a whole number of metres when ordered by distance) and
    that row's id as the tie-breaker; `lead` is a value sorted on before both (the
    relevance of a `sort=relevance` search)."""

    sort_value: datetime | int | float | None
    id: UUID
    lead: float | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_PAGE_SIZE
    after: Keyset | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidValue("limit", f"must be 1 to {MAX_PAGE_SIZE}")


@dataclass(frozen=True, slots=True)
class Total:
    """How many rows match: exact up to EXACT_TOTAL_UP_TO (`exact` is then True);
    above that an estimate, never below EXACT_TOTAL_UP_TO + 1, with `exact` False."""

    value: int
    exact: bool


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next: Keyset | None
    total: Total | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonSummary:
    id: UUID
    full_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventView:
    id: UUID
    title: str
    description: str
    location: Location
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int
    attendee_count: int
    waitlist_enabled: bool
    waitlist_count: int
    status: EventStatus
    organizer: PersonSummary
    sequence: int
    revision: int
    created_at: datetime
    updated_at: datetime
    #: From the search's `near` point (to the metre, rounded down); None without one.
    distance_km: float | None = None
    #: How many tickets were scanned: only for the event's managers, None for others.
    checked_in_count: int | None = None

    @property
    def available_seats(self) -> int:
        return self.capacity - self.attendee_count

    @property
    def organizer_id(self) -> UUID:
        return self.organizer.id


@dataclass(frozen=True, slots=True, kw_only=True)
class CoOrganizerView:
    user: PersonSummary
    added_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSummary:
    id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: EventStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationView:
    id: UUID
    event_id: UUID
    user_id: UUID
    status: RegistrationStatus
    #: 1 = next in line; None unless waitlisted.
    waitlist_position: int | None
    created_at: datetime
    event: EventSummary | None = None
    user: PersonSummary | None = None
    #: Only for its holder and the event's managers (every reader of these views is one).
    ticket_code: str | None = None
    checked_in_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserView:
    """A user as callers see one: never the password hash."""

    id: UUID
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime
    email_verified: bool = False

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            email=str(user.email),
            full_name=user.full_name,
            role=user.role,
            is_active=user.is_active,
            created_at=user.created_at,
            updated_at=user.updated_at,
            email_verified=user.email_verified,
        )


class EventOrder(StrEnum):
    #: (starts_at, id); `descending` reverses it.
    STARTS_AT = "starts_at"
    #: Best matches of `text` first (application/search.py), then (starts_at, id).
    RELEVANCE = "relevance"
    #: Nearest first from `near`, to the metre (see distance_key); needs `near`.
    DISTANCE = "distance"


def distance_key(distance_km: float) -> int:
    """The sort key of a distance: whole metres, rounded down. Keysets compare
    integers, never floats, so every backend pages through the same order."""
    return math.floor(distance_km * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCriteria:
    #: The `q` syntax of application/search.py.
    text: str | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    city: str | None = None
    country: str | None = None
    near: Coordinates | None = None
    radius_km: float | None = None
    available_only: bool = False
    organizer_id: UUID | None = None
    status: EventStatus = EventStatus.PUBLISHED
    descending: bool = False
    order: EventOrder = EventOrder.STARTS_AT

    @property
    def by_relevance(self) -> bool:
        """Relevance needs something to be relevant to: without words, start time."""
        return self.order is EventOrder.RELEVANCE and self.text is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserCriteria:
    role: Role | None = None
    is_active: bool | None = None
    text: str | None = None


class EventQueries(Protocol):
    async def get(self, event_id: UUID) -> EventView | None: ...

    async def search(self, criteria: EventCriteria, page: PageRequest) -> Page[EventView]:
        """Events matching every given filter, ordered by (starts_at, id), or by
        relevance first when `criteria.by_relevance` (keyset (lead=rank, starts_at, id)),
        or by (distance_key, id) for EventOrder.DISTANCE; with `near`, each view carries
        its distance_km."""
        ...

    async def co_organizers(self, event_id: UUID) -> list[CoOrganizerView]:
        """The event's co-organizers, in the order they were added (then by id)."""
        ...

    async def checked_in_count(self, event_id: UUID) -> int:
        """How many of the event's registrations were checked in (for its managers)."""
        ...

    async def count(self, criteria: EventCriteria, *, exact_up_to: int) -> Total:
        """How many events `search` would list: exact up to `exact_up_to`, else an
        estimate of at least `exact_up_to + 1` (never a full count on a big table)."""
        ...


class RegistrationQueries(Protocol):
    async def get(self, registration_id: UUID) -> RegistrationView | None: ...

    async def status_of(self, event_id: UUID, user_id: UUID) -> RegistrationStatus | None:
        """The person's registration status for the event; None without one."""
        ...

    async def attendees(
        self, event_id: UUID, status: RegistrationStatus | None, page: PageRequest
    ) -> Page[RegistrationView]:
        """An event's active registrations with user summaries, in order of joining."""
        ...

    async def for_user(
        self, user_id: UUID, *, starting_after: datetime | None, page: PageRequest
    ) -> Page[RegistrationView]:
        """A user's registrations with event summaries, by event start time."""
        ...

    async def ticket_code(self, event_id: UUID, user_id: UUID) -> str | None:
        """The code of the user's confirmed seat at the event; None without one
        (waitlisted, cancelled, left, or never there)."""
        ...

    async def calendar(self, user_id: UUID, *, ending_after: datetime) -> list[CalendarEntry]:
        """The user's confirmed and waitlisted registrations for published events
        that end after `ending_after`, with the events, by (start, event id): one
        query joining registrations, events and organizers."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarEntry:
    """One event of a user's calendar feed, with the state of their seat."""

    event: EventView
    status: RegistrationStatus


class UserQueries(Protocol):
    async def get(self, user_id: UUID) -> UserView | None: ...

    async def search(self, criteria: UserCriteria, page: PageRequest) -> Page[UserView]:
        """Users matching the criteria, ordered by id (creation order)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerView:
    """A sign-in session with its account: what identifying a caller needs."""

    session_id: UUID
    user_id: UUID
    role: Role
    is_active: bool
    session_expires_at: datetime
    session_revoked_at: datetime | None


class CallerQueries(Protocol):
    """Who is behind a session, on every signed-in request: the adapter answers with
    one indexed read of the session joined with its user, and never reads the
    session's spent refresh-token digests (those matter to refreshing alone)."""

    async def caller(self, session_id: UUID) -> CallerView | None: ...
