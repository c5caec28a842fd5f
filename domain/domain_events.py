"""Facts the aggregates record as they change; notifications follow from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSignedUp(DomainEvent):
    user_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountErased(DomainEvent):
    """The account's personal data is gone; only its id remains, as a tombstone.
    Nobody is mailed about it (the address no longer exists)."""

    user_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCreated(DomainEvent):
    event_id: UUID
    organizer_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPublished(DomainEvent):
    event_id: UUID
    organizer_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRescheduled(DomainEvent):
    """The time or the place of an event changed: attendees need to know."""

    event_id: UUID
    time_changed: bool
    place_changed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCancelled(DomainEvent):
    event_id: UUID
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventDeleted(DomainEvent):
    event_id: UUID
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttendeeRegistered(DomainEvent):
    event_id: UUID
    user_id: UUID
    registration_id: UUID
    waitlisted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AttendeeLeft(DomainEvent):
    event_id: UUID
    user_id: UUID
    registration_id: UUID
    removed_by_organizer: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AttendeePromoted(DomainEvent):
    event_id: UUID
    user_id: UUID
    registration_id: UUID
