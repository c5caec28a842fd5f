"""Facts the aggregates record as they change; notifications follow from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSignedUp(DomainEvent):
    """A new account. The welcome mail carries the link that verifies its address:
    `verification_token` is the raw token (only its digest is stored), so this
    fact must never be logged or copied anywhere but into that mail's outbox row."""

    user_id: UUID
    verification_token: str = field(default="", repr=False)
    verification_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordResetRequested(DomainEvent):
    """Someone asked for a reset link for an active account: mail it. `token` is
    the raw single-use token (stored only as a digest): never log or copy it."""

    user_id: UUID
    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordReset(DomainEvent):
    """The password was replaced through a mailed reset token."""

    user_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailVerificationRequested(DomainEvent):
    """A new verification link for the account's address (the first one rides on
    the welcome mail, `UserSignedUp`). `token` is raw: never log or copy it."""

    user_id: UUID
    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailVerified(DomainEvent):
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
    #: When the event starts now (its reminders follow it).
    starts_at: datetime | None = None
    #: Every field the change touched (`title`, `window`, `location`, ...).
    changed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRevised(DomainEvent):
    """A published event changed in what attendees need not be mailed about (title,
    description, capacity, waitlist): subscribers' webhooks still hear of it."""

    event_id: UUID
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventCancelled(DomainEvent):
    event_id: UUID
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventDeleted(DomainEvent):
    event_id: UUID
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CoOrganizerAdded(DomainEvent):
    """`user_id` may now manage the event alongside its organizer."""

    event_id: UUID
    user_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class CoOrganizerRemoved(DomainEvent):
    event_id: UUID
    user_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class AttendeeRegistered(DomainEvent):
    event_id: UUID
    user_id: UUID
    registration_id: UUID
    waitlisted: bool
    #: When the event starts (a confirmed seat gets a reminder before it).
    starts_at: datetime | None = None


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
    #: When the event starts (the new seat gets a reminder before it).
    starts_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedIn(DomainEvent):
    """A ticket was scanned at the door: its holder is in. Recorded once per ticket
    (the check-in is a conditional update), handed to the unit of work with `uow.record`."""

    event_id: UUID
    user_id: UUID
    registration_id: UUID


# -- accounts: kept in the audit log (application/audit.py), announced to nobody --------


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChanged(DomainEvent):
    """The owner chose a new password (a rehash after a cost change is not one)."""

    user_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleChanged(DomainEvent):
    user_id: UUID
    previous_role: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDeactivated(DomainEvent):
    user_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountActivated(DomainEvent):
    user_id: UUID


class SignInRefusal:
    """Why a sign-in was refused (never the password or the address typed)."""

    UNKNOWN_ACCOUNT = "unknown_account"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason, not a password
    INACTIVE_ACCOUNT = "inactive_account"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInFailed(DomainEvent):
    """A password sign-in was refused. It changes no aggregate: the use case hands it
    to its unit of work with `uow.record` (docs/adr/0008-audit-log.md). `user_id` is
    None when the address names no account (the address itself is never kept)."""

    user_id: UUID | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInLockedOut(DomainEvent):
    """A password sign-in was refused unchecked: the account's budget of password
    checks is spent (application/password_checks.py)."""

    user_id: UUID | None
    retry_after_seconds: int


# -- webhooks: kept in the audit log (application/audit.py) ----------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookCreated(DomainEvent):
    webhook_id: UUID
    owner_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDeleted(DomainEvent):
    webhook_id: UUID
    owner_id: UUID
