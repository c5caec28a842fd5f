"""Rows to domain objects and back, spelled out field by field.

The only place that knows both the column names and the domain types. The write
side reads through the domain constructors, so a stored value that breaks a
domain rule fails loudly before an aggregate acts on it. The read side (views,
answered straight to callers) does not validate again what our own writes
validated on the way in: its value objects are built as stored (`_as_stored`),
which was 6 % of a listing's CPU spent re-checking every character.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import RowMapping

from adapters.sql.search_columns import event_search_columns
from application.ports.queries import EventSummary, EventView, PersonSummary, UserView
from domain.event import Event, EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.users import AccountToken, AuthSession, Role, TokenPurpose, User
from domain.values import Capacity, Coordinates, EmailAddress, Location, TimeWindow

Row = RowMapping
V = TypeVar("V")


def _as_stored(cls: type[V], **fields: Any) -> V:
    """A frozen value object from trusted stored fields, without its validation
    (`__post_init__`). Every field must be given."""
    instance = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(instance, name, value)
    return instance


def _stored_location(row: Row) -> Location:
    latitude, longitude = row["latitude"], row["longitude"]
    return _as_stored(
        Location,
        venue=row["venue"],
        address=row["address"],
        city=row["city"],
        country=row["country"],
        coordinates=None
        if latitude is None
        else _as_stored(Coordinates, latitude=latitude, longitude=longitude),
    )


def user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": str(user.email),
        "full_name": user.full_name,
        "role": user.role.value,
        "password_hash": user.password_hash,
        "is_active": user.is_active,
        "email_verified": user.email_verified,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "erased_at": user.erased_at,
    }


def user_from_row(row: Row) -> User:
    return User(
        id=row["id"],
        email=EmailAddress(row["email"]),
        full_name=row["full_name"],
        role=Role(row["role"]),
        password_hash=row["password_hash"],
        is_active=row["is_active"],
        email_verified=row["email_verified"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        erased_at=row["erased_at"],
    )


def user_view_from_row(row: Row) -> UserView:
    return UserView(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        is_active=row["is_active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        email_verified=row["email_verified"],
    )


def event_values(event: Event) -> dict[str, Any]:
    location, coordinates = event.location, event.location.coordinates
    return {
        "id": event.id,
        "organizer_id": event.organizer_id,
        "title": event.title,
        "description": event.description,
        "venue": location.venue,
        "address": location.address,
        "city": location.city,
        "country": location.country,
        "latitude": coordinates.latitude if coordinates else None,
        "longitude": coordinates.longitude if coordinates else None,
        "starts_at": event.window.starts_at,
        "ends_at": event.window.ends_at,
        "timezone": event.window.timezone,
        "capacity": event.capacity.value,
        "waitlist_enabled": event.waitlist_enabled,
        "status": event.status.value,
        "attendee_count": event.attendee_count,
        "waitlist_count": event.waitlist_count,
        "tickets_issued": event.tickets_issued,
        "sequence": event.sequence,
        "cancel_reason": event.cancel_reason,
        "revision": event.revision,
        "created_at": event.created_at,
        "updated_at": event.updated_at,
        **event_search_columns(event),
    }


def _location(row: Row) -> Location:
    latitude, longitude = row["latitude"], row["longitude"]
    return Location(
        venue=row["venue"],
        address=row["address"],
        city=row["city"],
        country=row["country"],
        coordinates=None if latitude is None else Coordinates(latitude, longitude),
    )


def event_from_row(row: Row) -> Event:
    return Event(
        id=row["id"],
        organizer_id=row["organizer_id"],
        title=row["title"],
        description=row["description"],
        location=_location(row),
        window=TimeWindow(
            starts_at=row["starts_at"], ends_at=row["ends_at"], timezone=row["timezone"]
        ),
        capacity=Capacity(row["capacity"]),
        waitlist_enabled=row["waitlist_enabled"],
        status=EventStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        attendee_count=row["attendee_count"],
        waitlist_count=row["waitlist_count"],
        tickets_issued=row["tickets_issued"],
        sequence=row["sequence"],
        cancel_reason=row["cancel_reason"],
        revision=row["revision"],
    )


def event_view_from_row(row: Row) -> EventView:
    """A row of the events table plus `organizer_name` (from a join on users)."""
    return EventView(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        location=_stored_location(row),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        timezone=row["timezone"],
        capacity=row["capacity"],
        attendee_count=row["attendee_count"],
        waitlist_enabled=row["waitlist_enabled"],
        waitlist_count=row["waitlist_count"],
        status=EventStatus(row["status"]),
        organizer=PersonSummary(id=row["organizer_id"], full_name=row["organizer_name"]),
        sequence=row["sequence"],
        revision=row["revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def event_summary_from_row(row: Row) -> EventSummary:
    """From the `event_*` labelled columns of a registration listing."""
    return EventSummary(
        id=row["event_id"],
        title=row["event_title"],
        starts_at=row["event_starts_at"],
        ends_at=row["event_ends_at"],
        timezone=row["event_timezone"],
        status=EventStatus(row["event_status"]),
    )


def registration_values(registration: Registration) -> dict[str, Any]:
    return {
        "id": registration.id,
        "event_id": registration.event_id,
        "user_id": registration.user_id,
        "status": registration.status.value,
        "waitlist_ticket": registration.waitlist_ticket,
        "created_at": registration.created_at,
        "updated_at": registration.updated_at,
        "ticket_code": registration.ticket_code,
        "checked_in_at": registration.checked_in_at,
    }


def registration_from_row(row: Row) -> Registration:
    return Registration(
        id=row["id"],
        event_id=row["event_id"],
        user_id=row["user_id"],
        status=RegistrationStatus(row["status"]),
        waitlist_ticket=row["waitlist_ticket"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        ticket_code=row["ticket_code"],
        checked_in_at=row["checked_in_at"],
    )


def session_values(session: AuthSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "current_token_digest": session.current_token_digest,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "revoked_at": session.revoked_at,
    }


def session_from_row(row: Row, spent_digests: Iterable[str]) -> AuthSession:
    return AuthSession(
        id=row["id"],
        user_id=row["user_id"],
        current_token_digest=row["current_token_digest"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        spent_digests=set(spent_digests),
    )


def account_token_values(token: AccountToken) -> dict[str, Any]:
    return {
        "digest": token.digest,
        "user_id": token.user_id,
        "purpose": token.purpose.value,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "used_at": token.used_at,
    }


def account_token_from_row(row: Row) -> AccountToken:
    return AccountToken(
        digest=row["digest"],
        user_id=row["user_id"],
        purpose=TokenPurpose(row["purpose"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
    )
