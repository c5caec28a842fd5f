"""Outgoing notifications: intents written to an outbox with the change that caused
them, delivered later by a worker through a `Notifier`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from application.ports.queries import EventView
from domain.registration import RegistrationStatus


class NotificationKind(StrEnum):
    WELCOME = "welcome"
    EVENT_CREATED = "event_created"
    EVENT_PUBLISHED = "event_published"
    REGISTRATION_CONFIRMED = "registration_confirmed"
    REGISTRATION_WAITLISTED = "registration_waitlisted"
    REGISTRATION_PROMOTED = "registration_promoted"
    REGISTRATION_ENDED = "registration_ended"
    EVENT_CHANGED = "event_changed"
    EVENT_CANCELLED = "event_cancelled"
    EVENT_DELETED = "event_deleted"
    #: A single-use password reset link (`details`: `token`, `expires_at`).
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind, not a secret
    #: A new e-mail verification link (`details`: `token`, `expires_at`); the first
    #: one rides on the welcome mail.
    EMAIL_VERIFICATION = "email_verification"
    #: A webhook delivery, not a mail: `webhook_id` names the endpoint, `details`
    #: hold `type` and `payload` (the JSON body, as sent) (docs/notifications.md).
    WEBHOOK = "webhook"
    #: To an endpoint's owner: it failed for 3 days and was disabled (`details`:
    #: `webhook_id`, `url`, `failing_since`).
    WEBHOOK_DISABLED = "webhook_disabled"
    #: The event starts soon (EVENTAPI_REMINDER_BEFORE ahead): one per confirmed
    #: attendee, due at a time (`Notification.due_at`), checked again at delivery.
    REMINDER = "reminder"


#: Details that hold a raw secret (a mailed token). They live in a row only until
#: it is settled: every outcome that ends the row (sent, skipped, dead-lettered)
#: stores the details without them (see `without_secrets`), so the outbox never
#: keeps a usable token past its delivery (docs/security.md).
SECRET_DETAILS = frozenset({"token"})


def without_secrets(details: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in details.items() if key not in SECRET_DETAILS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """One message to one recipient, for one cause.

    (`cause_id`, `recipient_id`) is unique: a redelivered row is recognisable,
    and the same cause never produces two messages for the same person.
    """

    cause_id: UUID
    kind: NotificationKind
    recipient_id: UUID
    created_at: datetime
    event_id: UUID | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    #: The endpoint of a `WEBHOOK` notification (its owner is the recipient).
    webhook_id: UUID | None = None
    #: Not to be delivered before this time (a reminder); None: at once.
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Broadcast:
    """A notification for every holder of an active registration of one event,
    expanded by the outbox itself so that thousands of attendees are never loaded
    at once."""

    cause_id: UUID
    kind: NotificationKind
    event_id: UUID
    created_at: datetime
    statuses: frozenset[RegistrationStatus] = frozenset(
        {RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED}
    )
    details: Mapping[str, str] = field(default_factory=dict)
    due_at: datetime | None = None


class Outbox(Protocol):
    """Pending notifications, stored in the same transaction as the change."""

    async def add(self, *notifications: Notification) -> None:
        """Queue them (in one statement where the storage allows: a confirmation and
        its reminder cost the join one round trip, not two)."""
        ...

    async def broadcast(self, broadcast: Broadcast) -> None:
        """Queue one notification per current attendee (as of this transaction)."""
        ...

    async def reschedule(self, cause_id: UUID, *, due_at: datetime) -> None:
        """Every still pending notification of the cause becomes due at `due_at`
        (a reminder whose event moved); sent ones stay as they were."""
        ...

    async def withdraw(self, cause_id: UUID, *, recipient_id: UUID | None = None) -> None:
        """Delete the still pending notifications of the cause (for one recipient, or
        for all): what was sent stays, so the cause is never sent twice to anyone."""
        ...

    async def forget_recipient(self, recipient_id: UUID) -> None:
        """Delete every notification addressed to the person, whatever its status
        (an erased account: nothing may reach its address, and what it was told
        about would tell which events it joined)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """Who a message goes to, as of delivery."""

    id: UUID
    email: str
    full_name: str


class DeliveryRefused(Exception):
    """The message can never be delivered as it is (the relay refused the
    recipient for good, say): retrying would not help, so it is dead-lettered."""


class Notifier(Protocol):
    """Tells one person about one notification (mail, in production). Used by
    the worker only, never inside a request.

    It receives what a message needs, not a rendered mail: the notification (its
    kind is the intent), the recipient, the event as it stands now (None when
    the notification concerns no event, or the event is gone: then
    `notification.details` carries what is left) and a `message_id` that is the
    same for every delivery of one outbox row, so a redelivery after a crash is
    recognisable. Raise `DeliveryRefused` for a permanent failure; any other
    exception means "try again later".
    """

    async def deliver(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
    ) -> None: ...
