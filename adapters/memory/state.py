"""The tables of the in-memory adapters."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from application.ports.audit import AuditEntry
from application.ports.idempotency import StoredResponse
from application.ports.notifications import Notification
from application.ports.repositories import CalendarFeed
from application.ports.webhook_endpoints import WebhookAttempt
from domain.event import CoOrganizer, Event
from domain.registration import Registration
from domain.users import AccountToken, AuthSession, User
from domain.webhooks import Webhook

T = TypeVar("T")


def clone(entity: T) -> T:
    """Repositories hand out and keep copies, as a database would."""
    return copy.deepcopy(entity)


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """One row of the idempotency table (adapters/memory/idempotency.py)."""

    fingerprint: str
    token: str
    created_at: datetime
    locked_until: datetime
    response: StoredResponse | None = None


#: An outbox row deleted (withdrawn, or purged by the housekeeping): nothing claims,
#: settles, lists or revives it, and its (cause, recipient) may be queued again.
OUTBOX_PURGED = "purged"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """The delivery state of one outbox row (adapters/memory/delivery.py)."""

    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    sent_at: datetime | None = None

    @classmethod
    def new(cls, notification: Notification) -> OutboxRow:
        return cls("pending", 0, notification.due_at or notification.created_at)


@dataclass
class MemoryState:
    users: dict[UUID, User] = field(default_factory=dict)
    events: dict[UUID, Event] = field(default_factory=dict)
    co_organizers: dict[tuple[UUID, UUID], CoOrganizer] = field(default_factory=dict)
    registrations: dict[UUID, Registration] = field(default_factory=dict)
    sessions: dict[UUID, AuthSession] = field(default_factory=dict)
    account_tokens: dict[str, AccountToken] = field(default_factory=dict)
    #: By user id (one feed each).
    calendar_feeds: dict[UUID, CalendarFeed] = field(default_factory=dict)
    outbox: list[Notification] = field(default_factory=list)
    webhooks: dict[UUID, Webhook] = field(default_factory=dict)
    webhook_attempts: list[WebhookAttempt] = field(default_factory=list)
    #: Delivery state by row id (the position in `outbox`, from 1); a row without
    #: an entry is as `OutboxRow.new` makes it.
    outbox_rows: dict[int, OutboxRow] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    idempotency_keys: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)

    def outbox_row(self, row_id: int) -> OutboxRow:
        row = self.outbox_rows.get(row_id)
        return row if row is not None else OutboxRow.new(self.outbox[row_id - 1])

    def load(self, other: MemoryState) -> None:
        """Become a working copy of `other`: the tables are copied, not the rows
        (repositories never change a stored row in place)."""
        for f in fields(self):
            setattr(self, f.name, copy.copy(getattr(other, f.name)))


class MemoryStore:
    """Committed state, shared by every unit of work and query of one store.

    A unit of work holds `lock` for its whole life, like a row lock held until
    commit, so memory transactions are serialisable.
    """

    def __init__(self) -> None:
        self.state = MemoryState()
        self.lock = asyncio.Lock()
