"""Entities built directly, for tests that talk to repositories without use cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from adapters.uuid7 import Uuid7Generator
from domain.event import Event, EventStatus
from domain.registration import Registration, RegistrationStatus, new_ticket_code
from domain.users import AuthSession, Role, User
from domain.values import Capacity, Coordinates, EmailAddress, Location, TimeWindow

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
_ids = Uuid7Generator()


def new_id() -> UUID:
    return _ids.new_id()


def a_user(
    *, email: str | None = None, role: Role = Role.ATTENDEE, name: str = "Grace Hopper"
) -> User:
    user_id = new_id()
    return User(
        id=user_id,
        email=EmailAddress(email or f"{user_id.hex}@example.org"),
        full_name=name,
        role=role,
        password_hash="$2b$04$notarealhashnotarealhashnotarealhashnotarealhashnot",
        is_active=True,
        created_at=NOW,
        updated_at=NOW,
    )


def an_event(
    organizer: User,
    *,
    title: str = "Python meetup",
    description: str = "<p>Talks and pizza</p>",
    starts_at: datetime = NOW + timedelta(days=7),
    hours: float = 2,
    capacity: int = 10,
    waitlist: bool = True,
    status: EventStatus = EventStatus.PUBLISHED,
    city: str = "Berlin",
    country: str = "DE",
    venue: str = "c-base",
    coordinates: Coordinates | None = None,
) -> Event:
    return Event(
        id=new_id(),
        organizer_id=organizer.id,
        title=title,
        description=description,
        location=Location(
            venue=venue,
            address="Rungestraße 20",
            city=city,
            country=country,
            coordinates=coordinates,
        ),
        window=TimeWindow(
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            timezone="Europe/Berlin",
        ),
        capacity=Capacity(capacity),
        waitlist_enabled=waitlist,
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )


def a_registration(
    event: Event,
    user: User,
    *,
    status: RegistrationStatus = RegistrationStatus.CONFIRMED,
    ticket: int | None = None,
    at: datetime = NOW,
) -> Registration:
    """A confirmed one holds a ticket code, as the domain issues it with the seat."""
    return Registration(
        id=new_id(),
        event_id=event.id,
        user_id=user.id,
        status=status,
        waitlist_ticket=ticket,
        created_at=at,
        updated_at=at,
        ticket_code=new_ticket_code() if status is RegistrationStatus.CONFIRMED else None,
    )


def a_session(user: User, digest: str = "digest-1") -> AuthSession:
    return AuthSession(
        id=new_id(),
        user_id=user.id,
        current_token_digest=digest,
        created_at=NOW,
        expires_at=NOW + timedelta(days=30),
    )
