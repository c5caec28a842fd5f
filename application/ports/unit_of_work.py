"""One transaction, with the repositories that take part in it."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from application.ports.notifications import Outbox
from application.ports.repositories import (
    AccountTokenRepository,
    CalendarFeedRepository,
    CoOrganizerRepository,
    EventRepository,
    RegistrationRepository,
    SessionRepository,
    UserRepository,
)
from application.ports.webhook_endpoints import WebhookRepository
from domain.domain_events import DomainEvent


class UnitOfWork(Protocol):
    """An async context manager that rolls back unless `commit()` was called.

    The use case owns the transaction; repositories never commit. Whatever the
    outbox received is committed atomically with the change.
    """

    users: UserRepository
    events: EventRepository
    co_organizers: CoOrganizerRepository
    registrations: RegistrationRepository
    sessions: SessionRepository
    account_tokens: AccountTokenRepository
    calendar_feeds: CalendarFeedRepository
    webhooks: WebhookRepository
    outbox: Outbox

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def record(self, fact: DomainEvent) -> None:
        """Hand over a fact that belongs to no aggregate (a refused sign-in changes
        nothing, yet is audited): translated at once, like an aggregate's facts when
        it is written, and committed with the unit of work (docs/adr/0008-audit-log.md).
        Facts about changes are recorded by their aggregates, never through here, but
        for a check-in (`CheckedIn`): a conditional write no aggregate makes."""
        ...


class UnitOfWorkFactory(Protocol):
    """Opens units of work. `read_only=True` promises no writes, so an adapter may
    skip write locks (SQLite's BEGIN IMMEDIATE) for lookups on hot paths."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...
