"""A user's place at an event: a confirmed seat or a ticket in the waitlist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    #: The event was cancelled; the registration is kept as a record only.
    CANCELLED = "cancelled"


@dataclass(kw_only=True, slots=True)
class Registration:
    """Waitlisted registrations hold a ticket; lower tickets are served first.

    A waitlist position is the rank of the ticket among the event's waitlisted
    registrations (1 = next in line), so positions are contiguous by construction.
    """

    id: UUID
    event_id: UUID
    user_id: UUID
    status: RegistrationStatus
    waitlist_ticket: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_active(self) -> bool:
        return self.status is not RegistrationStatus.CANCELLED

    def confirm(self, now: datetime) -> None:
        self.status = RegistrationStatus.CONFIRMED
        self.waitlist_ticket = None
        self.updated_at = now
