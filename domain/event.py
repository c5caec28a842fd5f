"""The Event aggregate: lifecycle, seats and waitlist, and every rule about them.

The aggregate keeps its seat counters itself and is handed the registrations a
decision needs (the caller's own, the head of the waitlist), so joining never
loads the whole attendee list. Persistence serialises changes to one event
(row lock), which makes these counters the single source of truth.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.domain_events import (
    AttendeeLeft,
    AttendeePromoted,
    AttendeeRegistered,
    CoOrganizerAdded,
    CoOrganizerRemoved,
    DomainEvent,
    EventCancelled,
    EventCreated,
    EventDeleted,
    EventPublished,
    EventRescheduled,
    EventRevised,
)
from domain.errors import (
    AlreadyCoOrganizer,
    AlreadyRegistered,
    CapacityBelowAttendees,
    EventFull,
    EventLocked,
    EventNotJoinable,
    InvalidTransition,
    InvalidValue,
    NotFound,
    NotRegistered,
    OwnerNotCoOrganizer,
)
from domain.registration import Registration, RegistrationStatus, new_ticket_code
from domain.values import Capacity, Location, TimeWindow, plain_text

#: What a client may send, and what is stored and returned: sanitizing may lengthen
#: a description (`&` -> `&amp;`), and the safe form must fit the same limit.
MAX_DESCRIPTION = 10_000
MAX_STORED_DESCRIPTION = MAX_DESCRIPTION
MAX_TITLE = 200
MAX_CANCEL_REASON = 1000


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


def event_title(value: str) -> str:
    return plain_text("title", value, min_length=1, max_length=MAX_TITLE)


def event_description(value: str) -> str:
    """The stored (sanitized) form, which is what every response returns."""
    if len(value) > MAX_STORED_DESCRIPTION:
        raise InvalidValue(
            "description",
            f"must be at most {MAX_STORED_DESCRIPTION} characters once made safe"
            " (`&` counts as `&amp;`)",
        )
    return value


def description_input(value: str) -> str:
    """The limit on what a client sends, checked before sanitizing."""
    if len(value) > MAX_DESCRIPTION:
        raise InvalidValue("description", f"must be at most {MAX_DESCRIPTION} characters")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class CoOrganizer:
    """Someone who manages an event alongside its organizer (not instead of them)."""

    event_id: UUID
    user_id: UUID
    added_at: datetime
    added_by: UUID


@dataclass(kw_only=True, slots=True)
class Event:
    id: UUID
    organizer_id: UUID
    title: str
    description: str
    location: Location
    window: TimeWindow
    capacity: Capacity
    waitlist_enabled: bool
    status: EventStatus
    created_at: datetime
    updated_at: datetime
    attendee_count: int = 0
    waitlist_count: int = 0
    #: Waitlist tickets handed out so far; the next joiner gets this plus one.
    tickets_issued: int = 0
    #: Bumped on every change the attendees' calendars must learn (RFC 5545 SEQUENCE).
    sequence: int = 0
    cancel_reason: str = ""
    #: Bumped on every change; the HTTP layer's ETag and If-Match compare it.
    revision: int = 1
    recorded: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.title = event_title(self.title)
        self.description = event_description(self.description)

    @classmethod
    def plan(
        cls,
        *,
        id: UUID,
        organizer_id: UUID,
        title: str,
        description: str,
        location: Location,
        window: TimeWindow,
        capacity: Capacity,
        waitlist_enabled: bool,
        now: datetime,
    ) -> Event:
        """A new event, always a draft until its organizer publishes it."""
        event = cls(
            id=id,
            organizer_id=organizer_id,
            title=title,
            description=description,
            location=location,
            window=window,
            capacity=capacity,
            waitlist_enabled=waitlist_enabled,
            status=EventStatus.DRAFT,
            created_at=now,
            updated_at=now,
        )
        event.recorded.append(EventCreated(occurred_at=now, event_id=id, organizer_id=organizer_id))
        return event

    @property
    def available_seats(self) -> int:
        return self.capacity.value - self.attendee_count

    def waitlist_needed_to_release(self, registration: Registration) -> int:
        """How much of the waitlist's head `release` must be handed: the first
        person waiting, when the registration frees a seat."""
        frees_a_seat = registration.status is RegistrationStatus.CONFIRMED
        return 1 if frees_a_seat and self.waitlist_count else 0

    def waitlist_needed_to_resize(self, capacity: Capacity) -> int:
        """How much of the waitlist's head `change_capacity` must be handed: one
        person per seat gained, as far as the waitlist reaches."""
        return max(0, min(capacity.value - self.attendee_count, self.waitlist_count))

    def position_of_newcomer(self, registration: Registration) -> int | None:
        """The waitlist position of a registration `register` has just made (its
        ticket is the highest, so its holder is last in line); None for a seat."""
        if registration.status is not RegistrationStatus.WAITLISTED:
            return None
        return self.waitlist_count

    def pull_recorded(self) -> list[DomainEvent]:
        recorded, self.recorded = self.recorded, []
        return recorded

    # -- lifecycle ---------------------------------------------------------------------

    def publish(self, now: datetime) -> None:
        if self.status is not EventStatus.DRAFT:
            raise InvalidTransition(self.status.value, EventStatus.PUBLISHED.value)
        if self.window.has_ended(now):
            raise EventNotJoinable("an event that has already ended cannot be published")
        self.status = EventStatus.PUBLISHED
        self._touch(now)
        self.recorded.append(
            EventPublished(occurred_at=now, event_id=self.id, organizer_id=self.organizer_id)
        )

    def cancel(self, reason: str, now: datetime) -> None:
        """Final. Every registration is released (the caller marks them cancelled)."""
        if self.status is not EventStatus.PUBLISHED:
            raise InvalidTransition(self.status.value, EventStatus.CANCELLED.value)
        cleaned = plain_text("reason", reason, min_length=0, max_length=MAX_CANCEL_REASON)
        self.status = EventStatus.CANCELLED
        self.cancel_reason = cleaned
        self.attendee_count = 0
        self.waitlist_count = 0
        self.sequence += 1
        self._touch(now)
        self.recorded.append(
            EventCancelled(occurred_at=now, event_id=self.id, reason=self.cancel_reason)
        )

    def delete(self, now: datetime) -> None:
        """Gone for good, with its registrations (the caller deletes them); whoever
        still holds one is told."""
        self.recorded.append(EventDeleted(occurred_at=now, event_id=self.id, title=self.title))

    def revise(
        self,
        *,
        now: datetime,
        title: str | None = None,
        description: str | None = None,
        location: Location | None = None,
        window: TimeWindow | None = None,
        waitlist_enabled: bool | None = None,
    ) -> None:
        """Change what the event is; a change of time or place is announced."""
        self._ensure_not_cancelled()
        new_title = self.title if title is None else event_title(title)
        new_description = (
            self.description if description is None else event_description(description)
        )
        time_changed = window is not None and window != self.window
        place_changed = location is not None and not location.same_place(self.location)
        changed = tuple(
            name
            for name, differs in (
                ("title", new_title != self.title),
                ("description", new_description != self.description),
                ("location", location is not None and location != self.location),
                ("window", time_changed),
                ("waitlist_enabled", waitlist_enabled not in (None, self.waitlist_enabled)),
            )
            if differs
        )
        self.title, self.description = new_title, new_description
        if location is not None:
            self.location = location
        if window is not None:
            self.window = window
        if waitlist_enabled is not None:
            self.waitlist_enabled = waitlist_enabled
        self._touch(now)
        if time_changed or place_changed:
            self.sequence += 1
            if self.status is EventStatus.PUBLISHED:
                self.recorded.append(
                    EventRescheduled(
                        occurred_at=now,
                        event_id=self.id,
                        time_changed=time_changed,
                        place_changed=place_changed,
                        starts_at=self.window.starts_at,
                        changed=changed,
                    )
                )
        elif changed:
            self._revised(changed, now)

    def change_capacity(
        self, capacity: Capacity, *, waitlist_head: Sequence[Registration], now: datetime
    ) -> list[Registration]:
        """Resize; never below the confirmed attendees. New seats go to the waitlist first.

        `waitlist_head` is the waitlist in ticket order, at least as long as the
        number of seats gained (or the whole waitlist if shorter).
        """
        self._ensure_not_cancelled()
        if capacity.value < self.attendee_count:
            raise CapacityBelowAttendees(capacity.value, self.attendee_count)
        # checked before anything changes
        head = self._head(waitlist_head, self.waitlist_needed_to_resize(capacity))
        if capacity != self.capacity:
            self._revised(("capacity",), now)
        self.capacity = capacity
        self._touch(now)
        return [self._promote(reg, now) for reg in head]

    def _revised(self, changed: tuple[str, ...], now: datetime) -> None:
        if self.status is EventStatus.PUBLISHED:
            self.recorded.append(EventRevised(occurred_at=now, event_id=self.id, changed=changed))

    # -- seats ---------------------------------------------------------------------------

    def register(
        self,
        *,
        registration_id: UUID,
        user_id: UUID,
        existing: Registration | None,
        now: datetime,
    ) -> Registration:
        """A seat if one is free, else a waitlist ticket if the waitlist is on."""
        if self.status is not EventStatus.PUBLISHED:
            raise EventNotJoinable(f"the event is {self.status.value}, not open for joining")
        if self.window.has_ended(now):
            raise EventNotJoinable("the event has already ended")
        if existing is not None and existing.is_active:
            raise AlreadyRegistered(self.id, user_id)
        code = None
        if self.available_seats > 0:
            self.attendee_count += 1
            status, ticket, code = RegistrationStatus.CONFIRMED, None, new_ticket_code()
        elif self.waitlist_enabled:
            self.waitlist_count += 1
            self.tickets_issued += 1
            status, ticket = RegistrationStatus.WAITLISTED, self.tickets_issued
        else:
            raise EventFull(self.id)
        self._touch(now)
        registration = Registration(
            id=registration_id,
            event_id=self.id,
            user_id=user_id,
            status=status,
            waitlist_ticket=ticket,
            created_at=now,
            updated_at=now,
            ticket_code=code,
        )
        self.recorded.append(
            AttendeeRegistered(
                occurred_at=now,
                event_id=self.id,
                user_id=user_id,
                registration_id=registration_id,
                waitlisted=ticket is not None,
                starts_at=self.window.starts_at,
            )
        )
        return registration

    def release(
        self,
        registration: Registration,
        *,
        waitlist_head: Sequence[Registration],
        now: datetime,
        by_organizer: bool = False,
    ) -> Registration | None:
        """Give up a registration (the caller deletes it); the freed seat goes to the
        first waitlisted person, who is returned."""
        self._ensure_not_cancelled()
        if registration.event_id != self.id or not registration.is_active:
            raise NotRegistered(self.id, registration.user_id)
        if self.window.has_ended(now):
            raise EventNotJoinable("the event has already ended")
        head = self._head(waitlist_head, self.waitlist_needed_to_release(registration))
        if registration.status is RegistrationStatus.CONFIRMED:
            self.attendee_count -= 1
        else:
            self.waitlist_count -= 1
        self._touch(now)
        self.recorded.append(
            AttendeeLeft(
                occurred_at=now,
                event_id=self.id,
                user_id=registration.user_id,
                registration_id=registration.id,
                removed_by_organizer=by_organizer,
            )
        )
        return self._promote(head[0], now) if head else None

    def forget(self, registration: Registration, now: datetime) -> None:
        """An erased person's registration that `release` cannot end (the event is
        over or cancelled) is deleted by the caller; only the count stays.

        A confirmed seat stays counted in `attendee_count`: it is the anonymous
        record that someone attended. A waitlist ticket is taken out of
        `waitlist_count`, so that the waitlist's head stays what its rows say.
        Nobody is told: the person is gone and the others keep their places.
        """
        if registration.event_id != self.id:
            raise NotRegistered(self.id, registration.user_id)
        if registration.status is RegistrationStatus.WAITLISTED:
            self.waitlist_count -= 1
            self._touch(now)

    # -- internals -----------------------------------------------------------------------

    def _head(self, waitlist_head: Sequence[Registration], count: int) -> Sequence[Registration]:
        head = waitlist_head[:count]
        tickets = [reg.waitlist_ticket or 0 for reg in head]
        if (
            len(head) < count
            or tickets != sorted(set(tickets))
            or any(
                reg.event_id != self.id or reg.status is not RegistrationStatus.WAITLISTED
                for reg in head
            )
        ):
            raise ValueError("the waitlist head handed to the event is incomplete")
        return head

    def _promote(self, registration: Registration, now: datetime) -> Registration:
        registration.confirm(now)
        self.waitlist_count -= 1
        self.attendee_count += 1
        self.recorded.append(
            AttendeePromoted(
                occurred_at=now,
                event_id=self.id,
                user_id=registration.user_id,
                registration_id=registration.id,
                starts_at=self.window.starts_at,
            )
        )
        return registration

    def add_co_organizer(
        self, user_id: UUID, *, current: Collection[UUID], by: UUID, now: datetime
    ) -> CoOrganizer:
        """A new co-organizer (the caller stores it). `current`: those the event has.
        Whether `user_id` is an active organizer is the use case's to check."""
        self._ensure_not_cancelled()
        if user_id == self.organizer_id:
            raise OwnerNotCoOrganizer(self.id)
        if user_id in current:
            raise AlreadyCoOrganizer(self.id, user_id)
        self.recorded.append(CoOrganizerAdded(occurred_at=now, event_id=self.id, user_id=user_id))
        return CoOrganizer(event_id=self.id, user_id=user_id, added_at=now, added_by=by)

    def remove_co_organizer(
        self, user_id: UUID, *, current: Collection[UUID], now: datetime
    ) -> None:
        """`user_id` no longer co-organizes (the caller deletes the row)."""
        if user_id not in current:
            raise NotFound("co-organizer", user_id)
        self.recorded.append(CoOrganizerRemoved(occurred_at=now, event_id=self.id, user_id=user_id))

    def _touch(self, now: datetime) -> None:
        self.updated_at = now
        self.revision += 1

    def _ensure_not_cancelled(self) -> None:
        if self.status is EventStatus.CANCELLED:
            raise EventLocked(self.id)
