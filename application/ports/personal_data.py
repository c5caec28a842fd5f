"""Everything held about one person, read section by section for their export.

Each section is an async generator of batches, read with keyset paging (one
bounded query per batch), so an export of any size is never held in memory at
once: the HTTP layer writes each batch out before the next is read. A new
section (audit entries, webhooks) is one more method here and in each adapter.

Batches are read one query at a time, not inside one transaction: an export
taken while the person is active reflects each batch as it was when read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from application.ports.notifications import NotificationKind
from application.ports.queries import EventView, RegistrationView

#: Rows per batch unless a caller asks otherwise.
EXPORT_BATCH_SIZE = 500


class NotificationState(StrEnum):
    """Where a notification stands, as an export shows it."""

    PENDING = "pending"
    SENT = "sent"
    #: Given up on after its attempts (a dead letter).
    FAILED = "failed"
    #: Settled without sending (the account closed, the event gone).
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationRecord:
    """A notification addressed to the person: what it was about and what became of it.
    Never its delivery errors (they name relays, not the person)."""

    kind: NotificationKind
    created_at: datetime
    status: NotificationState
    sent_at: datetime | None
    event_id: UUID | None
    #: The event's title now, or the one the notification recorded if it is gone.
    event_title: str | None
    #: When a scheduled notification (a reminder) is due; None for the others.
    due_at: datetime | None = None


class PersonalData(Protocol):
    """Keyset-paged reads of one user's data; each method yields non-empty batches of
    at most `batch_size` items, oldest first, and only that user's rows."""

    def registrations(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[RegistrationView]]:
        """Every registration (cancelled ones too) with its event's summary, by
        (created_at, id)."""
        ...

    def organised_events(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[EventView]]:
        """Every event the user organises, in any status, by (starts_at, id)."""
        ...

    def notifications(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[NotificationRecord]]:
        """Every notification the outbox still holds for the user, in the order
        they were written (sent ones are purged after the outbox retention)."""
        ...
