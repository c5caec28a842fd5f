"""The one place where committed changes reach the read cache.

`InvalidatingUnitOfWorkFactory` wraps the unit of work factory every use case
(and the worker, and the command line) receives from the container. Its units
of work watch the event and user repositories the way `FactCollector` does
(application/facts.py) and, once `commit()` has succeeded, hand what changed to
the `ReadCache` before `commit()` returns, so before the response that follows
the write is sent:

- an event added, saved or deleted (created, published, revised, cancelled,
  resized, and every join, leave, removal or promotion, since seat counts live
  on the event and are saved with it) invalidates that event and every listing;
- a user saved with a different name or activity (a rename, a deactivation, a
  closure or erasure) invalidates everything, since their name is on every
  event they organize. Other saves of a user (a new password hash, a role)
  change nothing a reader sees.

No use case can forget: none talks to the cache. A rolled-back unit of work
invalidates nothing, as nothing changed.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import UUID

from application.ports.read_cache import ReadCache, ReadChanges
from application.ports.repositories import EventRepository, UserRepository
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.domain_events import DomainEvent
from domain.event import Event
from domain.users import User
from domain.values import EmailAddress


class InvalidatingUnitOfWorkFactory(UnitOfWorkFactory):
    def __init__(self, inner: UnitOfWorkFactory, cache: ReadCache) -> None:
        self._inner = inner
        self._cache = cache

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        return _InvalidatingUnitOfWork(self._inner(read_only=read_only), self._cache)


class _InvalidatingUnitOfWork(UnitOfWork):
    def __init__(self, inner: UnitOfWork, cache: ReadCache) -> None:
        self._inner = inner
        self._cache = cache
        self._changes = ReadChanges()

    async def __aenter__(self) -> Self:
        inner = await self._inner.__aenter__()
        self.users = _WatchedUsers(inner.users, self._changes)
        self.events = _WatchedEvents(inner.events, self._changes)
        self.co_organizers = inner.co_organizers  # only managers see them: nothing cached
        self.registrations = inner.registrations
        self.sessions = inner.sessions
        self.account_tokens = inner.account_tokens
        self.calendar_feeds = inner.calendar_feeds
        self.webhooks = inner.webhooks
        self.outbox = inner.outbox
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()
        changes = ReadChanges(event_ids=set(self._changes.event_ids))
        changes.everything = self._changes.everything
        self._changes.event_ids.clear()
        self._changes.everything = False
        if changes:
            await self._cache.invalidate(changes)  # never raises (see the port)

    async def record(self, fact: DomainEvent) -> None:
        await self._inner.record(fact)  # an attempt: nothing a reader sees changed


def _seen_by_readers(user: User) -> tuple[str, bool]:
    return user.full_name, user.is_active


class _WatchedUsers(UserRepository):
    def __init__(self, inner: UserRepository, changes: ReadChanges) -> None:
        self._inner = inner
        self._changes = changes
        self._loaded: dict[UUID, tuple[str, bool]] = {}

    def _remember(self, user: User | None) -> User | None:
        if user is not None:
            self._loaded.setdefault(user.id, _seen_by_readers(user))
        return user

    async def get(self, user_id: UUID) -> User | None:
        return self._remember(await self._inner.get(user_id))

    async def get_by_email(self, email: EmailAddress) -> User | None:
        return self._remember(await self._inner.get_by_email(email))

    async def get_for_update(self, user_id: UUID) -> User | None:
        return self._remember(await self._inner.get_for_update(user_id))

    async def get_for_share(self, user_id: UUID) -> User | None:
        return self._remember(await self._inner.get_for_share(user_id))

    async def add(self, user: User) -> None:
        await self._inner.add(user)  # a new account organizes nothing yet
        self._loaded[user.id] = _seen_by_readers(user)

    async def save(self, user: User) -> None:
        await self._inner.save(user)
        if self._loaded.get(user.id) != _seen_by_readers(user):
            self._changes.everything = True

    async def lock_active_admins(self) -> int:
        return await self._inner.lock_active_admins()


class _WatchedEvents(EventRepository):
    def __init__(self, inner: EventRepository, changes: ReadChanges) -> None:
        self._inner = inner
        self._changes = changes

    async def get(self, event_id: UUID) -> Event | None:
        return await self._inner.get(event_id)

    async def get_for_update(self, event_id: UUID) -> Event | None:
        return await self._inner.get_for_update(event_id)

    async def add(self, event: Event) -> None:
        await self._inner.add(event)
        self._changes.event_ids.add(event.id)

    async def save(self, event: Event) -> None:
        await self._inner.save(event)
        self._changes.event_ids.add(event.id)

    async def delete(self, event: Event) -> None:
        await self._inner.delete(event)
        self._changes.event_ids.add(event.id)

    async def open_organized_by(self, organizer_id: UUID, *, ending_after: datetime) -> list[UUID]:
        return await self._inner.open_organized_by(organizer_id, ending_after=ending_after)
