from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.authorization import require_signed_in
from application.ports.audit import AuditCriteria, AuditEntry, AuditQueries
from application.ports.personal_data import EXPORT_BATCH_SIZE, NotificationRecord, PersonalData
from application.ports.queries import (
    MAX_PAGE_SIZE,
    EventView,
    Keyset,
    PageRequest,
    RegistrationView,
    UserQueries,
    UserView,
)
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import NotFound


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportMyDataCommand:
    actor: Principal | None
    batch_size: int = EXPORT_BATCH_SIZE


async def nothing_yet() -> AsyncIterator[list[Any]]:
    """A section whose data does not exist yet: present in the document, empty."""
    none: list[list[Any]] = []
    for batch in none:
        yield batch


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonalDataExport:
    """Everything held about one person. The profile is read up front (so a missing
    account is an error, not a broken stream); every other section is an unread
    generator of batches, read as it is written out."""

    exported_at: datetime
    profile: UserView
    registrations: AsyncIterator[list[RegistrationView]]
    organised_events: AsyncIterator[list[EventView]]
    notifications: AsyncIterator[list[NotificationRecord]]
    #: Issue 14 (webhooks) fills this: the caller's webhooks, never their secrets.
    webhooks: AsyncIterator[list[Any]]
    #: Audit entries where the caller is the actor or the subject, newest first.
    audit_events: AsyncIterator[list[AuditEntry]]


class ExportMyData:
    """The signed-in caller's own data (contract: "Data rights and audit"), never
    anyone else's: every section is read for the caller's own id, and no secret
    (password hash, session or refresh-token digests) is in any of them."""

    def __init__(
        self,
        users: UserQueries,
        personal_data: PersonalData,
        audit: AuditQueries,
        clock: Clock,
        uow: UnitOfWorkFactory | None = None,
    ) -> None:
        self._users = users
        self._data = personal_data
        self._audit = audit
        self._clock = clock
        self._uow = uow

    async def execute(self, command: ExportMyDataCommand) -> PersonalDataExport:
        actor = require_signed_in(command.actor)
        profile = await self._users.get(actor.user_id)
        if profile is None:
            raise NotFound("user", actor.user_id)
        user_id, size = actor.user_id, command.batch_size
        return PersonalDataExport(
            exported_at=self._clock.now(),
            profile=profile,
            registrations=self._data.registrations(user_id, batch_size=size),
            organised_events=self._data.organised_events(user_id, batch_size=size),
            notifications=self._data.notifications(user_id, batch_size=size),
            webhooks=nothing_yet() if self._uow is None else self._webhooks(user_id, size),
            audit_events=self._audit_entries(user_id),
        )

    async def _webhooks(self, user_id: UUID, size: int) -> AsyncIterator[list[Any]]:
        """The caller's webhook endpoints, oldest first, without their secrets."""
        assert self._uow is not None
        after: Keyset | None = None
        while True:
            async with self._uow(read_only=True) as uow:
                hooks = await uow.webhooks.page(owner_id=user_id, limit=size, after=after)
            if hooks:
                yield [
                    {
                        "id": str(hook.id),
                        "url": hook.url,
                        "event_types": list(hook.event_types),
                        "description": hook.description,
                        "enabled": hook.enabled,
                        "created_at": hook.created_at.isoformat(),
                        "failing_since": _iso(hook.failing_since),
                        "disabled_at": _iso(hook.disabled_at),
                    }
                    for hook in hooks
                ]
            if len(hooks) < size:
                return
            after = Keyset(None, hooks[-1].id)

    async def _audit_entries(self, user_id: UUID) -> AsyncIterator[list[AuditEntry]]:
        """Entries the caller made, then entries about the caller made by someone
        else (so none appears twice), each newest first, a page at a time."""
        for criteria, keep in (
            (AuditCriteria(actor_id=user_id), _anything),
            (AuditCriteria(subject_id=user_id), _by_someone_else(user_id)),
        ):
            page = PageRequest(limit=MAX_PAGE_SIZE)
            while True:
                found = await self._audit.search(criteria, page)
                yield [entry for entry in found.items if keep(entry)]
                if found.next is None:
                    break
                page = PageRequest(limit=MAX_PAGE_SIZE, after=found.next)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _anything(entry: AuditEntry) -> bool:
    return True


def _by_someone_else(user_id: UUID) -> Callable[[AuditEntry], bool]:
    return lambda entry: entry.actor_id != user_id
