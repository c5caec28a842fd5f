"""The audit log in SQL: appended in the unit of work's transaction, read newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.paging import keyset_order, page_of
from adapters.sql.reading import fetch_all, read_only
from adapters.sql.tables import audit_log
from application.ports.audit import AuditCriteria, AuditEntry, AuditLog, AuditQueries
from application.ports.queries import Keyset, Page, PageRequest

_APPEND = insert(audit_log)


class SqlAuditLog(AuditLog):
    """Only ever INSERTs: nothing in the service updates or deletes an entry."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def append(self, entry: AuditEntry) -> None:
        await self._connection.execute(
            _APPEND,
            {
                "id": entry.id,
                "at": entry.at,
                "actor_id": entry.actor_id,
                "action": entry.action,
                "subject_type": entry.subject_type,
                "subject_id": entry.subject_id,
                "ip": entry.ip,
                "details": dict(entry.details),
            },
        )


class SqlAuditQueries(AuditQueries):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)

    async def search(self, criteria: AuditCriteria, page: PageRequest) -> Page[AuditEntry]:
        statement = self.search_statement(criteria, page)
        entries = [_entry(row) for row in await fetch_all(self._engine, statement)]
        return page_of(entries, page, lambda entry: Keyset(entry.at, entry.id))

    def search_statement(self, criteria: AuditCriteria, page: PageRequest) -> Select[Any]:
        """One index range: (at, id) descending, within one actor or subject when
        filtered by it (ix_audit_log_*_at_id; tests/integration/test_query_plans.py)."""
        statement = select(audit_log)
        if criteria.actor_id is not None:
            statement = statement.where(audit_log.c.actor_id == criteria.actor_id)
        if criteria.subject_id is not None:
            statement = statement.where(audit_log.c.subject_id == criteria.subject_id)
        if criteria.action is not None:
            statement = statement.where(audit_log.c.action == criteria.action)
        if criteria.since is not None:
            statement = statement.where(audit_log.c.at >= criteria.since)
        if criteria.until is not None:
            statement = statement.where(audit_log.c.at < criteria.until)
        return keyset_order(
            statement, page, id_column=audit_log.c.id, sort_column=audit_log.c.at, descending=True
        )


def _entry(row: RowMapping) -> AuditEntry:
    details: Any = row["details"]
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor_id=row["actor_id"],
        action=row["action"],
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        ip=row["ip"],
        details={str(key): str(value) for key, value in (details or {}).items()},
    )
