"""Events built straight from the domain, and a tiny registry playing the repository.

The aggregate is handed the registrations a decision needs (the caller's own, the
waitlist head); `Seats` keeps them the way a repository would, so aggregate tests
and properties can drive joins, leaves and resizes without any adapter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from uuid import UUID

from domain.event import Event
from domain.registration import Registration, RegistrationStatus
from domain.values import Capacity, Location, TimeWindow

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
STARTS_AT = NOW + timedelta(days=7)
ENDS_AT = STARTS_AT + timedelta(hours=2)
ORGANIZER = UUID(int=1)
EVENT_ID = UUID(int=2)


def window(starts_at: datetime = STARTS_AT, ends_at: datetime = ENDS_AT) -> TimeWindow:
    return TimeWindow(starts_at=starts_at, ends_at=ends_at, timezone="Europe/Berlin")


def venue(name: str = "c-base") -> Location:
    return Location(venue=name, address="Rungestraße 20", city="Berlin", country="DE")


def user(number: int) -> UUID:
    return UUID(int=1000 + number)


def draft_event(*, capacity: int = 2, waitlist: bool = False) -> Event:
    return Event.plan(
        id=EVENT_ID,
        organizer_id=ORGANIZER,
        title="PyCon meetup",
        description="Talks and pretzels",
        location=venue(),
        window=window(),
        capacity=Capacity(capacity),
        waitlist_enabled=waitlist,
        now=NOW,
    )


def published_event(*, capacity: int = 2, waitlist: bool = False) -> Event:
    """A published event with nothing recorded yet."""
    event = draft_event(capacity=capacity, waitlist=waitlist)
    event.publish(NOW)
    event.pull_recorded()
    return event


class Seats:
    """An event's registrations, kept as a repository would keep them."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.by_user: dict[UUID, Registration] = {}
        self._ids = count(1)

    def join(self, user_id: UUID, now: datetime = NOW) -> Registration:
        registration = self.event.register(
            registration_id=UUID(int=next(self._ids)),
            user_id=user_id,
            existing=self.by_user.get(user_id),
            now=now,
        )
        self.by_user[user_id] = registration
        return registration

    def leave(
        self, user_id: UUID, now: datetime = NOW, *, by_organizer: bool = False
    ) -> Registration | None:
        registration = self.by_user[user_id]
        head = self.waitlist()[:1] if registration.status is RegistrationStatus.CONFIRMED else []
        promoted = self.event.release(
            registration, waitlist_head=head, now=now, by_organizer=by_organizer
        )
        del self.by_user[user_id]
        return promoted

    def resize(self, capacity: int, now: datetime = NOW) -> list[Registration]:
        gained = max(0, capacity - self.event.attendee_count)
        head = self.waitlist()[: min(gained, self.event.waitlist_count)]
        return self.event.change_capacity(Capacity(capacity), waitlist_head=head, now=now)

    def confirmed(self) -> list[UUID]:
        return [
            user_id
            for user_id, registration in self.by_user.items()
            if registration.status is RegistrationStatus.CONFIRMED
        ]

    def waitlist(self) -> list[Registration]:
        """Waitlisted registrations in ticket order, as `waitlist_head` returns them."""
        waiting = [r for r in self.by_user.values() if r.status is RegistrationStatus.WAITLISTED]
        return sorted(waiting, key=lambda r: r.waitlist_ticket or 0)

    def waitlisted_users(self) -> list[UUID]:
        return [r.user_id for r in self.waitlist()]
