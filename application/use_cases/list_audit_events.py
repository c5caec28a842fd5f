from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_role
from application.ports.audit import AuditCriteria, AuditEntry, AuditQueries
from application.ports.queries import Page, PageRequest
from application.principal import Principal
from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAuditEventsCommand:
    actor: Principal | None
    criteria: AuditCriteria
    page: PageRequest


class ListAuditEvents:
    """Admins read the audit log, newest first, filtered by actor, subject, action
    and time. Reading is all there is: no use case changes or deletes an entry."""

    def __init__(self, audit: AuditQueries) -> None:
        self._audit = audit

    async def execute(self, command: ListAuditEventsCommand) -> Page[AuditEntry]:
        require_role(command.actor, Role.ADMIN)
        return await self._audit.search(command.criteria, command.page)
