"""Repositories and the outbox over MemoryState tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

from adapters.memory.state import OUTBOX_PURGED, MemoryState, clone
from application.ports.audit import AuditEntry, AuditLog
from application.ports.notifications import Broadcast, Notification, Outbox
from application.ports.repositories import (
    AccountTokenRepository,
    CalendarFeed,
    CalendarFeedRepository,
    CoOrganizerRepository,
    EventRepository,
    RegistrationRepository,
    SessionRepository,
    UserRepository,
)
from domain.errors import AlreadyRegistered, EmailTaken
from domain.event import CoOrganizer, Event, EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.users import AccountToken, AuthSession, TokenPurpose, User
from domain.values import EmailAddress


class MemoryUserRepository(UserRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, user_id: UUID) -> User | None:
        """An erased account's row is a tombstone: to the repository it no longer exists."""
        user = self._state.users.get(user_id)
        return clone(user) if user and not user.is_erased else None

    async def get_for_update(self, user_id: UUID) -> User | None:
        return await self.get(user_id)  # the unit of work already holds the store's lock

    async def get_for_share(self, user_id: UUID) -> User | None:
        return await self.get(user_id)

    async def get_by_email(self, email: EmailAddress) -> User | None:
        found = [u for u in self._state.users.values() if u.email == email and not u.is_erased]
        return clone(found[0]) if found else None

    async def add(self, user: User) -> None:
        if any(u.email == user.email for u in self._state.users.values()):
            raise EmailTaken()
        await self.save(user)

    async def save(self, user: User) -> None:
        stored = clone(user)
        stored.recorded.clear()  # facts are for the unit of work that made them, not storage
        self._state.users[user.id] = stored

    async def lock_active_admins(self) -> int:
        return sum(1 for u in self._state.users.values() if u.is_active_admin)


class MemoryEventRepository(EventRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, event_id: UUID) -> Event | None:
        event = self._state.events.get(event_id)
        return clone(event) if event else None

    async def get_for_update(self, event_id: UUID) -> Event | None:
        return await self.get(event_id)  # the unit of work already holds the store's lock

    async def add(self, event: Event) -> None:
        await self.save(event)

    async def save(self, event: Event) -> None:
        stored = clone(event)
        stored.recorded.clear()  # facts are for the unit of work that made them, not storage
        self._state.events[event.id] = stored

    async def delete(self, event: Event) -> None:
        self._state.events.pop(event.id, None)
        self._state.co_organizers = {
            key: row for key, row in self._state.co_organizers.items() if key[0] != event.id
        }
        registrations = self._state.registrations
        for reg_id in [r.id for r in registrations.values() if r.event_id == event.id]:
            del registrations[reg_id]

    async def open_organized_by(self, organizer_id: UUID, *, ending_after: datetime) -> list[UUID]:
        return sorted(
            e.id
            for e in self._state.events.values()
            if e.organizer_id == organizer_id
            and (
                e.status is EventStatus.DRAFT
                or (e.status is EventStatus.PUBLISHED and e.window.ends_at > ending_after)
            )
        )


class MemoryCoOrganizerRepository(CoOrganizerRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def user_ids(self, event_id: UUID) -> frozenset[UUID]:
        return frozenset(user for event, user in self._state.co_organizers if event == event_id)

    async def add(self, co_organizer: CoOrganizer) -> None:
        self._state.co_organizers[(co_organizer.event_id, co_organizer.user_id)] = co_organizer

    async def remove(self, event_id: UUID, user_id: UUID) -> None:
        self._state.co_organizers.pop((event_id, user_id), None)

    async def remove_user(self, user_id: UUID) -> None:
        self._state.co_organizers = {
            key: row for key, row in self._state.co_organizers.items() if key[1] != user_id
        }


class MemoryRegistrationRepository(RegistrationRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, registration_id: UUID) -> Registration | None:
        registration = self._state.registrations.get(registration_id)
        return clone(registration) if registration else None

    async def find(self, event_id: UUID, user_id: UUID) -> Registration | None:
        for registration in self._state.registrations.values():
            if (registration.event_id, registration.user_id) == (event_id, user_id):
                return clone(registration)
        return None

    async def add(self, registration: Registration) -> None:
        if await self.find(registration.event_id, registration.user_id) is not None:
            raise AlreadyRegistered(registration.event_id, registration.user_id)
        self._state.registrations[registration.id] = clone(registration)

    async def save(self, registration: Registration) -> None:
        saved = clone(registration)
        stored = self._state.registrations.get(registration.id)
        # As in SQL: only `check_in` writes `checked_in_at`, so a save never undoes it.
        saved.checked_in_at = stored.checked_in_at if stored else None
        self._state.registrations[registration.id] = saved

    async def delete(self, registration_id: UUID) -> None:
        self._state.registrations.pop(registration_id, None)

    async def waitlist_head(self, event_id: UUID, limit: int) -> list[Registration]:
        waiting = [
            r
            for r in self._state.registrations.values()
            if r.event_id == event_id and r.status is RegistrationStatus.WAITLISTED
        ]
        waiting.sort(key=lambda r: r.waitlist_ticket or 0)
        return [clone(r) for r in waiting[:limit]]

    async def cancel_all(self, event_id: UUID, now: datetime) -> None:
        for registration in list(self._state.registrations.values()):
            if registration.event_id == event_id and registration.is_active:
                cancelled = clone(registration)
                cancelled.status = RegistrationStatus.CANCELLED
                cancelled.waitlist_ticket = None
                cancelled.updated_at = now
                self._state.registrations[cancelled.id] = cancelled

    async def active_for_user(self, user_id: UUID, *, ending_after: datetime) -> list[Registration]:
        events = self._state.events
        return [
            clone(r)
            for r in self._state.registrations.values()
            if r.user_id == user_id
            and r.is_active
            and r.event_id in events
            and events[r.event_id].window.ends_at > ending_after
        ]

    async def all_for_user(self, user_id: UUID) -> list[Registration]:
        return [clone(r) for r in self._state.registrations.values() if r.user_id == user_id]

    async def find_by_ticket(self, event_id: UUID, ticket_code: str) -> Registration | None:
        for registration in self._state.registrations.values():
            if (registration.event_id, registration.ticket_code) == (event_id, ticket_code):
                return clone(registration)
        return None

    async def check_in(
        self, event_id: UUID, ticket_code: str, now: datetime
    ) -> Registration | None:
        # One step with no await inside: as atomic as SQL's conditional UPDATE.
        for registration in self._state.registrations.values():
            if (
                (registration.event_id, registration.ticket_code) == (event_id, ticket_code)
                and registration.status is RegistrationStatus.CONFIRMED
                and registration.checked_in_at is None
            ):
                checked = clone(registration)  # stored rows are shared until commit
                checked.checked_in_at = now
                self._state.registrations[checked.id] = checked
                return clone(checked)
        return None


class MemorySessionRepository(SessionRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, session_id: UUID) -> AuthSession | None:
        session = self._state.sessions.get(session_id)
        return clone(session) if session else None

    async def find_by_token(self, digest: str) -> AuthSession | None:
        for session in self._state.sessions.values():
            if digest == session.current_token_digest or digest in session.spent_digests:
                return clone(session)
        return None

    async def add(self, session: AuthSession) -> None:
        self._state.sessions[session.id] = clone(session)

    async def save(self, session: AuthSession) -> None:
        self._state.sessions[session.id] = clone(session)

    async def revoke_all_for_user(
        self, user_id: UUID, now: datetime, *, except_session: UUID | None = None
    ) -> None:
        for session in list(self._state.sessions.values()):
            if session.user_id == user_id and session.id != except_session:
                revoked = clone(session)
                revoked.revoke(now)
                self._state.sessions[revoked.id] = revoked


class MemoryAuditLog(AuditLog):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def append(self, entry: AuditEntry) -> None:
        self._state.audit.append(entry)


class MemoryAccountTokenRepository(AccountTokenRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, token: AccountToken) -> None:
        self._state.account_tokens[token.digest] = clone(token)

    async def find(self, digest: str) -> AccountToken | None:
        token = self._state.account_tokens.get(digest)
        return clone(token) if token else None

    async def save(self, token: AccountToken) -> None:
        self._state.account_tokens[token.digest] = clone(token)

    async def discard_for_user(self, user_id: UUID, purpose: TokenPurpose) -> None:
        self._state.account_tokens = {
            digest: token
            for digest, token in self._state.account_tokens.items()
            if not (token.user_id == user_id and token.purpose is purpose)
        }


class MemoryCalendarFeedRepository(CalendarFeedRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def replace(self, feed: CalendarFeed) -> None:
        self._state.calendar_feeds[feed.user_id] = feed  # frozen: no copy needed

    async def find(self, digest: str) -> CalendarFeed | None:
        return next((f for f in self._state.calendar_feeds.values() if f.digest == digest), None)

    async def for_user(self, user_id: UUID) -> CalendarFeed | None:
        return self._state.calendar_feeds.get(user_id)

    async def discard(self, user_id: UUID) -> bool:
        return self._state.calendar_feeds.pop(user_id, None) is not None


class MemoryOutbox(Outbox):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, *notifications: Notification) -> None:
        for notification in notifications:
            key = (notification.cause_id, notification.recipient_id)
            if all((n.cause_id, n.recipient_id) != key for _, n in self._live()):
                self._state.outbox.append(notification)

    def _live(self) -> list[tuple[int, Notification]]:
        """(row id, notification) of the rows not deleted (withdrawn or purged)."""
        state = self._state
        return [
            (row_id, n)
            for row_id, n in enumerate(state.outbox, start=1)
            if state.outbox_row(row_id).status != OUTBOX_PURGED
        ]

    def _pending(self, cause_id: UUID) -> list[tuple[int, Notification]]:
        state = self._state
        return [
            (row_id, n)
            for row_id, n in self._live()
            if n.cause_id == cause_id and state.outbox_row(row_id).status == "pending"
        ]

    async def reschedule(self, cause_id: UUID, *, due_at: datetime) -> None:
        state = self._state
        for row_id, notification in self._pending(cause_id):
            state.outbox[row_id - 1] = replace(notification, due_at=due_at)
            state.outbox_rows[row_id] = replace(state.outbox_row(row_id), next_attempt_at=due_at)

    async def withdraw(self, cause_id: UUID, *, recipient_id: UUID | None = None) -> None:
        state = self._state
        for row_id, notification in self._pending(cause_id):
            if recipient_id in (None, notification.recipient_id):
                state.outbox_rows[row_id] = replace(state.outbox_row(row_id), status=OUTBOX_PURGED)

    async def broadcast(self, broadcast: Broadcast) -> None:
        registrations = sorted(self._state.registrations.values(), key=lambda r: r.created_at)
        for registration in registrations:
            if (
                registration.event_id == broadcast.event_id
                and registration.status in broadcast.statuses
            ):
                await self.add(
                    Notification(
                        cause_id=broadcast.cause_id,
                        kind=broadcast.kind,
                        recipient_id=registration.user_id,
                        event_id=broadcast.event_id,
                        created_at=broadcast.created_at,
                        details=broadcast.details,
                        due_at=broadcast.due_at,
                    )
                )

    async def forget_recipient(self, recipient_id: UUID) -> None:
        state = self._state
        kept = [
            (row_id, n)
            for row_id, n in enumerate(state.outbox, start=1)
            if n.recipient_id != recipient_id
        ]
        # Row ids are positions: the delivery state follows its row to its new one.
        state.outbox_rows = {
            new_id: state.outbox_rows[old_id]
            for new_id, (old_id, _) in enumerate(kept, start=1)
            if old_id in state.outbox_rows
        }
        state.outbox = [n for _, n in kept]
