"""Aggregate storage for one transaction. Repositories never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.event import CoOrganizer, Event
from domain.registration import Registration
from domain.users import AccountToken, AuthSession, TokenPurpose, User
from domain.values import EmailAddress


class UserRepository(Protocol):
    async def get(self, user_id: UUID) -> User | None: ...

    async def get_by_email(self, email: EmailAddress) -> User | None: ...

    async def get_for_update(self, user_id: UUID) -> User | None:
        """The user, locked against concurrent changes until the unit of work ends."""
        ...

    async def get_for_share(self, user_id: UUID) -> User | None:
        """The user, locked against changes (not against other readers) until the
        unit of work ends: an account checked this way cannot be closed meanwhile."""
        ...

    async def add(self, user: User) -> None:
        """Raises EmailTaken when the address is in use (case-insensitively)."""
        ...

    async def save(self, user: User) -> None: ...

    async def lock_active_admins(self) -> int:
        """Count the active admins, locking them until the unit of work ends so two
        concurrent demotions cannot both see "another admin remains"."""
        ...


class EventRepository(Protocol):
    async def get(self, event_id: UUID) -> Event | None: ...

    async def get_for_update(self, event_id: UUID) -> Event | None:
        """The event, locked against concurrent changes until the unit of work ends."""
        ...

    async def add(self, event: Event) -> None: ...

    async def save(self, event: Event) -> None: ...

    async def delete(self, event: Event) -> None:
        """Remove the event and all its registrations."""
        ...

    async def open_organized_by(self, organizer_id: UUID, *, ending_after: datetime) -> list[UUID]:
        """The ids of the organizer's drafts, and of their published events that end
        after the given time (what erasing the organizer deletes or cancels)."""
        ...


class CoOrganizerRepository(Protocol):
    """Who manages each event alongside its organizer. Deleting an event deletes them."""

    async def user_ids(self, event_id: UUID) -> frozenset[UUID]: ...

    async def add(self, co_organizer: CoOrganizer) -> None: ...

    async def remove(self, event_id: UUID, user_id: UUID) -> None: ...

    async def remove_user(self, user_id: UUID) -> None:
        """The user co-organizes nothing any more (erasure)."""
        ...


class RegistrationRepository(Protocol):
    async def get(self, registration_id: UUID) -> Registration | None: ...

    async def find(self, event_id: UUID, user_id: UUID) -> Registration | None: ...

    async def add(self, registration: Registration) -> None:
        """Raises AlreadyRegistered when the user already holds one for the event."""
        ...

    async def save(self, registration: Registration) -> None: ...

    async def delete(self, registration_id: UUID) -> None: ...

    async def waitlist_head(self, event_id: UUID, limit: int) -> list[Registration]:
        """The first `limit` waitlisted registrations, lowest ticket first."""
        ...

    async def cancel_all(self, event_id: UUID, now: datetime) -> None:
        """Mark every active registration of the event cancelled."""
        ...

    async def active_for_user(self, user_id: UUID, *, ending_after: datetime) -> list[Registration]:
        """The user's active registrations for events that end after the given time."""
        ...

    async def all_for_user(self, user_id: UUID) -> list[Registration]:
        """Every registration the user holds or held, of any status and event."""
        ...

    async def find_by_ticket(self, event_id: UUID, ticket_code: str) -> Registration | None:
        """The event's registration (of any status) holding this ticket code."""
        ...

    async def check_in(
        self, event_id: UUID, ticket_code: str, now: datetime
    ) -> Registration | None:
        """Mark the ticket checked in at `now`, in one conditional write: only a
        confirmed registration of this event not yet checked in is changed, so of
        any number of concurrent scans exactly one succeeds. The changed
        registration, or None when nothing matched (the caller finds out why)."""
        ...


class SessionRepository(Protocol):
    async def get(self, session_id: UUID) -> AuthSession | None: ...

    async def find_by_token(self, digest: str) -> AuthSession | None:
        """The session that issued this refresh-token digest (current or spent),
        locked until the unit of work ends."""
        ...

    async def add(self, session: AuthSession) -> None: ...

    async def save(self, session: AuthSession) -> None: ...

    async def revoke_all_for_user(
        self, user_id: UUID, now: datetime, *, except_session: UUID | None = None
    ) -> None: ...


class AccountTokenRepository(Protocol):
    """Mailed single-use tokens (password reset, e-mail verification), by digest."""

    async def add(self, token: AccountToken) -> None: ...

    async def find(self, digest: str) -> AccountToken | None:
        """The token with this digest, locked until the unit of work ends, so two
        redemptions of one token cannot both succeed."""
        ...

    async def save(self, token: AccountToken) -> None: ...

    async def discard_for_user(self, user_id: UUID, purpose: TokenPurpose) -> None:
        """Void every token of this purpose the user holds (a newer one replaces them)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarFeed:
    """A user's calendar feed: the secret of its URL is stored only as `digest`
    (SHA-256, like refresh tokens), never as itself."""

    user_id: UUID
    digest: str
    created_at: datetime


class CalendarFeedRepository(Protocol):
    """At most one calendar feed per user, found by the digest of its token."""

    async def replace(self, feed: CalendarFeed) -> None:
        """Store `feed`, replacing the user's previous one (whose URL stops working)."""
        ...

    async def find(self, digest: str) -> CalendarFeed | None: ...

    async def for_user(self, user_id: UUID) -> CalendarFeed | None: ...

    async def discard(self, user_id: UUID) -> bool:
        """Delete the user's feed; whether there was one."""
        ...
