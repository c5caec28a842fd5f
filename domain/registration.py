"""A user's place at an event: a confirmed seat or a ticket in the waitlist."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

#: `secrets.token_urlsafe(24)`: 24 random bytes (192 bits), 32 URL-safe characters.
TICKET_CODE_BYTES = 24
#: What a ticket code may look like on the way in (HTTP validates the same).
TICKET_CODE_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


def new_ticket_code() -> str:
    """A fresh, unguessable ticket code, derived from nothing (not from any id)."""
    return secrets.token_urlsafe(TICKET_CODE_BYTES)


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
    #: What the door scans. Issued when the seat is confirmed (joining with a free
    #: seat, or promotion from the waitlist); a waitlisted registration has none. A
    #: person who leaves and joins again gets a new registration, so a new code.
    ticket_code: str | None = None
    checked_in_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status is not RegistrationStatus.CANCELLED

    def confirm(self, now: datetime) -> None:
        self.status = RegistrationStatus.CONFIRMED
        self.waitlist_ticket = None
        if self.ticket_code is None:
            self.ticket_code = new_ticket_code()
        self.updated_at = now
