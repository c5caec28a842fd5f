"""Unit of work over a MemoryStore: work on copies, swap them in on commit.

Domain facts reach the outbox through the `FactCollector` (application/facts.py),
as in the SQL unit of work."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.actor_context import ACTORS
from adapters.memory.repositories import (
    MemoryAccountTokenRepository,
    MemoryAuditLog,
    MemoryCalendarFeedRepository,
    MemoryCoOrganizerRepository,
    MemoryEventRepository,
    MemoryOutbox,
    MemoryRegistrationRepository,
    MemorySessionRepository,
    MemoryUserRepository,
)
from adapters.memory.state import MemoryState, MemoryStore
from adapters.memory.webhooks import MemoryWebhookRepository
from adapters.uuid7 import Uuid7Generator
from application.facts import FactCollector
from application.ports.audit import ActorContext
from application.ports.system import IdGenerator
from application.ports.unit_of_work import UnitOfWork
from application.reminders import ReminderSchedule
from domain.domain_events import DomainEvent


class MemoryUnitOfWork(UnitOfWork):
    def __init__(
        self,
        store: MemoryStore,
        ids: IdGenerator,
        actors: ActorContext = ACTORS,
        reminders: ReminderSchedule | None = None,
    ) -> None:
        self._store = store
        self._working = MemoryState()
        self.outbox = MemoryOutbox(self._working)
        self.webhooks = MemoryWebhookRepository(self._working)
        self._facts = FactCollector(
            self.outbox,
            MemoryAuditLog(self._working),
            actors,
            ids,
            webhooks=self.webhooks,
            reminders=reminders,
        )
        self.users = self._facts.users(MemoryUserRepository(self._working))
        self.events = self._facts.events(MemoryEventRepository(self._working))
        self.co_organizers = MemoryCoOrganizerRepository(self._working)
        self.registrations = MemoryRegistrationRepository(self._working)
        self.sessions = MemorySessionRepository(self._working)
        self.account_tokens = MemoryAccountTokenRepository(self._working)
        self.calendar_feeds = MemoryCalendarFeedRepository(self._working)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._working.load(self._store.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store.lock.release()

    async def record(self, fact: DomainEvent) -> None:
        await self._facts.record(fact)

    async def commit(self) -> None:
        self._facts.ensure_drained()
        committed = MemoryState()
        committed.load(self._working)
        self._store.state = committed


class MemoryUnitOfWorkFactory:
    """A `UnitOfWorkFactory`: each call opens a new unit of work on the store."""

    def __init__(
        self,
        store: MemoryStore,
        ids: IdGenerator | None = None,
        actors: ActorContext = ACTORS,
        reminders: ReminderSchedule | None = None,
    ) -> None:
        self._store = store
        self._ids = ids or Uuid7Generator()
        self._actors = actors
        self._reminders = reminders

    def __call__(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        # One lock serves readers and writers alike.
        return MemoryUnitOfWork(self._store, self._ids, self._actors, self._reminders)
