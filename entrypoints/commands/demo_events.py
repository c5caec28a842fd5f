"""Realistic demo events, planned and filled through the Event aggregate itself,
so every rule (time window, capacity, waitlist order, status transitions) holds."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from application.ports.security import HtmlSanitizer
from domain.countries import country_code
from domain.errors import EventFull
from domain.event import Event, description_input
from domain.registration import Registration
from domain.values import Capacity, Coordinates, Location, TimeWindow
from entrypoints.commands.demo_catalogue import CANCEL_REASONS, CITIES, KINDS, City, EventKind

#: Where house numbers come first ("120 Queen Street" rather than "Torstraße 120").
NUMBER_FIRST = frozenset(
    {"United States", "United Kingdom", "Ireland", "Canada", "Australia", "New Zealand"}
    | {"Singapore", "South Africa", "Kenya", "India", "France"}
)
DRAFT_SHARE, CANCELLED_SHARE = 0.12, 0.03
#: Events start between tomorrow and about six months from now.
HORIZON_DAYS = 180
#: Joins per event are capped so that seeding 10,000 events stays quick.
MAX_JOINS = 40


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    event: Event
    registrations: list[Registration]


class DemoEventPlanner:
    def __init__(
        self, rng: random.Random, sanitizer: HtmlSanitizer, new_id: Callable[[], UUID]
    ) -> None:
        self._rng = rng
        self._sanitizer = sanitizer
        self._new_id = new_id

    def plan(self, organizer_id: UUID, attendees: Sequence[UUID], now: datetime) -> PlannedEvent:
        rng = self._rng
        kind = rng.choices(KINDS, weights=[kind.weight for kind in KINDS])[0]
        city = rng.choice(CITIES)
        subject = rng.choice(kind.subjects)
        title = rng.choice(kind.titles).format(
            subject=subject, city=city.name, n=rng.randint(2, 60)
        )
        location = self._location(kind, city)
        event = Event.plan(
            id=self._new_id(),
            organizer_id=organizer_id,
            title=title,
            description=self._sanitizer.clean(
                description_input(_description(kind, subject, location))
            ),
            location=location,
            window=self._window(kind, city, now),
            capacity=Capacity(self._capacity(kind)),
            waitlist_enabled=rng.random() < kind.waitlist_share,
            now=now,
        )
        roll = rng.random()
        registrations: list[Registration] = []
        if roll >= DRAFT_SHARE:
            event.publish(now)
            if roll < DRAFT_SHARE + CANCELLED_SHARE:
                event.cancel(rng.choice(CANCEL_REASONS), now)
            else:
                registrations = self._fill(event, attendees, now)
        event.pull_recorded()  # demo accounts have no mailboxes: nothing is queued
        return PlannedEvent(event, registrations)

    def _location(self, kind: EventKind, city: City) -> Location:
        street, number = self._rng.choice(city.streets), self._rng.randint(1, 180)
        address = f"{number} {street}" if city.country in NUMBER_FIRST else f"{street} {number}"
        return Location(
            venue=self._rng.choice(kind.venues),
            address=address,
            city=city.name,
            country=country_code(city.country) or city.country,
            coordinates=Coordinates(
                round(city.latitude + self._rng.uniform(-0.03, 0.03), 5),
                round(city.longitude + self._rng.uniform(-0.045, 0.045), 5),
            ),
        )

    def _window(self, kind: EventKind, city: City, now: datetime) -> TimeWindow:
        zone = ZoneInfo(city.timezone)
        day = now.astimezone(zone).date() + timedelta(days=self._rng.randint(1, HORIZON_DAYS))
        start = datetime.combine(
            day, time(self._rng.choice(kind.start_hours), self._rng.choice((0, 0, 30))), zone
        )
        hours = round(self._rng.uniform(*kind.hours) * 2) / 2  # whole or half hours
        end = start + timedelta(days=self._rng.randint(*kind.days) - 1, hours=hours)
        return TimeWindow(start.astimezone(UTC), end.astimezone(UTC), city.timezone)

    def _capacity(self, kind: EventKind) -> int:
        capacity = self._rng.randint(*kind.capacity)
        return capacity if capacity < 100 else round(capacity, -1)

    def _fill(self, event: Event, attendees: Sequence[UUID], now: datetime) -> list[Registration]:
        """Most events part-full, some full, a few with a waitlist queueing."""
        capacity, roll = event.capacity.value, self._rng.random()
        if roll < 0.15:
            wanted = capacity + (self._rng.randint(1, 8) if event.waitlist_enabled else 0)
        elif roll < 0.55:
            wanted = int(capacity * self._rng.uniform(0.3, 0.95))
        else:
            wanted = int(capacity * self._rng.uniform(0.0, 0.3))
        joining = self._rng.sample(list(attendees), min(wanted, len(attendees), MAX_JOINS))
        registrations = []
        for user_id in joining:
            try:
                registrations.append(
                    event.register(
                        registration_id=self._new_id(), user_id=user_id, existing=None, now=now
                    )
                )
            except EventFull:
                break
        return registrations


def _description(kind: EventKind, subject: str, location: Location) -> str:
    return (
        f"<p>{kind.pitch.format(subject=subject)}</p>"
        f"<p>Where: {location.venue}, {location.address}, {location.city}.</p>"
        f"<p><strong>Bring:</strong> {kind.bring}.</p>"
    )
