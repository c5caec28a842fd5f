"""The one hand-off from domain facts to the outbox, shared by every unit of work.

Aggregates record facts as they change (`Event.recorded`, `User.recorded`). A
unit of work wraps its user and event repositories with a `FactCollector`,
which remembers every aggregate they load or add and turns the aggregate's
facts into outbox entries (`application.notifications`) and audit entries
(`application.audit`, with the actor of `ActorContext`) at the moment the
aggregate is written: added, saved or deleted. So:

- A broadcast goes to the attendees as the transaction sees them when the
  event is written: save the event before releasing its registrations in bulk
  (`cancel_and_release`); `events.delete` translates before the rows go.
- `commit()` asks `ensure_drained()` first and refuses while an aggregate of
  the unit of work still holds facts: a change recorded but never written
  would otherwise be dropped without a word, or announced without being stored.

- A fact that belongs to no aggregate (a refused sign-in changes nothing) is
  handed over with `record(fact)` and translated at once, by the same
  translations: the one other way in, for facts about attempts.

See docs/adr/0005-the-unit-of-work-hands-facts-to-the-outbox.md and
docs/adr/0008-audit-log.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

from application.audit import append_audit_entries
from application.notifications import queue_notifications
from application.ports.audit import ActorContext, AuditLog
from application.ports.notifications import Outbox
from application.ports.repositories import EventRepository, UserRepository
from application.ports.system import IdGenerator
from application.ports.webhook_endpoints import WebhookRepository
from application.reminders import ReminderSchedule
from application.webhooks import queue_webhooks
from domain.domain_events import DomainEvent
from domain.event import Event
from domain.users import User
from domain.values import EmailAddress


class RecordsFacts(Protocol):
    recorded: list[DomainEvent]

    def pull_recorded(self) -> list[DomainEvent]: ...


A = TypeVar("A", bound=RecordsFacts)


class UndrainedFacts(RuntimeError):
    """A use case tried to commit with facts its aggregates recorded but that
    were never written (a bug, never a client's error)."""

    def __init__(self, facts: Iterable[DomainEvent]) -> None:
        names = ", ".join(type(fact).__name__ for fact in facts)
        super().__init__(f"facts recorded but never written, so never announced: {names}")


class FactCollector:
    """One per unit of work: wrap its repositories, call `ensure_drained` in `commit`."""

    def __init__(
        self,
        outbox: Outbox,
        audit: AuditLog,
        actors: ActorContext,
        ids: IdGenerator,
        webhooks: WebhookRepository | None = None,
        reminders: ReminderSchedule | None = None,
    ) -> None:
        self._outbox = outbox
        #: None: no reminders (a unit of work built without the configured schedule).
        self._reminders = reminders
        self._audit = audit
        self._actors = actors
        self._ids = ids
        self._webhooks = webhooks
        self._seen: dict[int, RecordsFacts] = {}

    def users(self, repository: UserRepository) -> UserRepository:
        return _CollectingUsers(repository, self)

    def events(self, repository: EventRepository) -> EventRepository:
        return _CollectingEvents(repository, self)

    def ensure_drained(self) -> None:
        left = [fact for aggregate in self._seen.values() for fact in aggregate.recorded]
        if left:
            raise UndrainedFacts(left)

    def track(self, aggregate: A | None) -> A | None:
        if aggregate is not None:
            self._seen[id(aggregate)] = aggregate
        return aggregate

    def take(self, aggregate: RecordsFacts) -> list[DomainEvent]:
        """The aggregate's facts, now that it is being written."""
        self.track(aggregate)
        return aggregate.pull_recorded()

    async def translate(self, facts: list[DomainEvent], *, event: Event | None = None) -> None:
        """`event`: the aggregate that recorded `facts`, as written (webhook payloads)."""
        await queue_notifications(self._outbox, facts, self._ids, self._reminders)
        if self._webhooks is not None:
            await queue_webhooks(self._webhooks, self._outbox, facts, self._ids, event=event)
        await append_audit_entries(self._audit, facts, self._actors.current(), self._ids)

    async def record(self, fact: DomainEvent) -> None:
        """A fact no aggregate holds (about an attempt, not a change), translated now."""
        await self.translate([fact])


class _CollectingUsers(UserRepository):
    def __init__(self, inner: UserRepository, facts: FactCollector) -> None:
        self._inner = inner
        self._facts = facts

    async def get(self, user_id: UUID) -> User | None:
        return self._facts.track(await self._inner.get(user_id))

    async def get_by_email(self, email: EmailAddress) -> User | None:
        return self._facts.track(await self._inner.get_by_email(email))

    async def get_for_update(self, user_id: UUID) -> User | None:
        return self._facts.track(await self._inner.get_for_update(user_id))

    async def get_for_share(self, user_id: UUID) -> User | None:
        return self._facts.track(await self._inner.get_for_share(user_id))

    async def add(self, user: User) -> None:
        facts = self._facts.take(user)
        await self._inner.add(user)  # first: a notification names its recipient
        await self._facts.translate(facts)

    async def save(self, user: User) -> None:
        facts = self._facts.take(user)
        await self._inner.save(user)
        await self._facts.translate(facts)

    async def lock_active_admins(self) -> int:
        return await self._inner.lock_active_admins()


class _CollectingEvents(EventRepository):
    def __init__(self, inner: EventRepository, facts: FactCollector) -> None:
        self._inner = inner
        self._facts = facts

    async def get(self, event_id: UUID) -> Event | None:
        return self._facts.track(await self._inner.get(event_id))

    async def get_for_update(self, event_id: UUID) -> Event | None:
        return self._facts.track(await self._inner.get_for_update(event_id))

    async def add(self, event: Event) -> None:
        facts = self._facts.take(event)
        await self._inner.add(event)
        await self._facts.translate(facts, event=event)

    async def save(self, event: Event) -> None:
        facts = self._facts.take(event)
        await self._inner.save(event)
        await self._facts.translate(facts, event=event)

    async def delete(self, event: Event) -> None:
        """Announced first: a broadcast goes to the registrations the delete removes."""
        await self._facts.translate(self._facts.take(event), event=event)
        await self._inner.delete(event)

    async def open_organized_by(self, organizer_id: UUID, *, ending_after: datetime) -> list[UUID]:
        return await self._inner.open_organized_by(organizer_id, ending_after=ending_after)
