from __future__ import annotations

from datetime import datetime
from uuid import UUID

from msgspec import Struct

from application.ports.audit import AuditEntry


class AuditEventOut(Struct, frozen=True):
    id: UUID
    at: datetime
    #: The signed-in account that acted; null for an anonymous caller or the CLI.
    actor_id: UUID | None
    action: str
    subject_type: str | None
    subject_id: UUID | None
    #: The client address; null for the CLI.
    ip: str | None
    #: Ids and short codes only: never a password, token, secret, address or name.
    details: dict[str, str]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEventOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            ip=entry.ip,
            details=dict(entry.details),
        )


class AuditEventPage(Struct, frozen=True):
    items: list[AuditEventOut]
    next_cursor: str | None
