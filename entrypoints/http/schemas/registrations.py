from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta, Struct

from application.ports.queries import EventSummary, RegistrationView
from entrypoints.http.schemas.events import PersonOut, StatusName

RegistrationStatusName = Literal["confirmed", "waitlisted", "cancelled"]


class EventSummaryOut(Struct, frozen=True):
    id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: StatusName

    @classmethod
    def of(cls, event: EventSummary) -> EventSummaryOut:
        return cls(
            id=event.id,
            title=event.title,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            status=event.status.value,
        )


class RegistrationOut(Struct, frozen=True, omit_defaults=True):
    id: UUID
    event_id: UUID
    user_id: UUID
    status: RegistrationStatusName
    waitlist_position: int | None
    created_at: datetime
    #: Always present (null until the ticket is scanned).
    checked_in_at: datetime | None
    event: EventSummaryOut | None = None
    user: PersonOut | None = None
    ticket_code: (
        Annotated[
            str,
            Meta(
                description="What the door scans (also in the confirmation mail as a QR code). "
                "Only ever shown to the registration's holder and the event's managers; absent "
                "while waitlisted (a promotion issues it)"
            ),
        ]
        | None
    ) = None

    @classmethod
    def of(cls, view: RegistrationView) -> RegistrationOut:
        return cls(
            id=view.id,
            event_id=view.event_id,
            user_id=view.user_id,
            status=view.status.value,
            waitlist_position=view.waitlist_position,
            created_at=view.created_at,
            checked_in_at=view.checked_in_at,
            ticket_code=view.ticket_code,
            event=EventSummaryOut.of(view.event) if view.event else None,
            user=PersonOut.of(view.user) if view.user else None,
        )


class RegistrationPage(Struct, frozen=True):
    items: list[RegistrationOut]
    next_cursor: str | None
