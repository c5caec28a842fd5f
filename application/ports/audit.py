"""The audit log: who changed what, when and from where, kept with the change.

Entries are appended by the unit of work's fact hand-off (application/facts.py,
application/audit.py) in the transaction of the change itself, and only read
afterwards: no port changes or deletes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.ports.queries import Page, PageRequest
from domain.errors import InvalidValue

#: The longest action name (also the column's width).
MAX_ACTION_LENGTH = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    id: UUID
    at: datetime
    #: Who did it: the signed-in account, None for an anonymous caller or the CLI.
    actor_id: UUID | None
    action: str
    #: What it was done to ("user", "event"), None when nothing is named (a sign-in
    #: with an address that has no account).
    subject_type: str | None
    subject_id: UUID | None
    #: The client address of the request (as the rate limits see it), None off HTTP.
    ip: str | None
    #: Ids and short codes only: never a secret, an address or a name.
    details: Mapping[str, str] = field(default_factory=dict)


class AuditLog(Protocol):
    """The unit of work's writer: appends in the unit of work's transaction."""

    async def append(self, entry: AuditEntry) -> None: ...


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting in the current request or command, and from where."""

    user_id: UUID | None = None
    ip: str | None = None


NOBODY = Actor()


class ActorContext(Protocol):
    """The actor of the work in progress: set by the entrypoint (the HTTP edge from the
    verified bearer token and the client address; nothing for the CLI and the worker),
    read by the audit translation."""

    def current(self) -> Actor: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditCriteria:
    actor_id: UUID | None = None
    subject_id: UUID | None = None
    action: str | None = None
    #: Entries at or after `since`, and strictly before `until`.
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidValue("until", "must be later than since")
        if self.action is not None and not 1 <= len(self.action) <= MAX_ACTION_LENGTH:
            raise InvalidValue("action", f"must be 1 to {MAX_ACTION_LENGTH} characters")


class AuditQueries(Protocol):
    async def search(self, criteria: AuditCriteria, page: PageRequest) -> Page[AuditEntry]:
        """Newest first: by (at, id) descending."""
        ...
