"""The personal data export (`GET /users/me/export`): the document it streams.

The response is written piece by piece (entrypoints/http/exports.py), never built
as one value; `PersonalDataExportOut` describes it for the OpenAPI document and
is what a client decodes it as. Its fields are written in this order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import Meta, Struct

from application.ports.notifications import NotificationKind
from application.ports.personal_data import NotificationRecord
from entrypoints.http.schemas.audit import AuditEventOut
from entrypoints.http.schemas.events import EventOut
from entrypoints.http.schemas.registrations import RegistrationOut
from entrypoints.http.schemas.users import UserOut

NotificationStateName = Literal["pending", "sent", "failed", "skipped"]


class ExportedNotificationOut(Struct, frozen=True):
    """A notification addressed to the caller (sent ones are kept for the outbox
    retention, then purged)."""

    kind: NotificationKind
    created_at: datetime
    status: Annotated[
        NotificationStateName,
        Meta(
            description="`skipped`: settled without sending (the account was closed or "
            "the event deleted first); `failed`: given up after every attempt."
        ),
    ]
    sent_at: datetime | None
    event_id: UUID | None
    event_title: str | None
    due_at: Annotated[
        datetime | None,
        Meta(description="When a scheduled notification (a reminder) is due; null for others."),
    ] = None

    @classmethod
    def of(cls, record: NotificationRecord) -> ExportedNotificationOut:
        return cls(
            kind=record.kind,
            created_at=record.created_at,
            status=record.status.value,
            sent_at=record.sent_at,
            event_id=record.event_id,
            event_title=record.event_title,
            due_at=record.due_at,
        )


class PersonalDataExportOut(Struct, frozen=True):
    """Everything eventapi holds about the caller. No secrets: no password hash,
    no session or refresh-token digests, no webhook secrets."""

    exported_at: datetime
    profile: UserOut
    registrations: Annotated[
        list[RegistrationOut],
        Meta(description="Every registration, cancelled ones too, oldest first."),
    ]
    events_organised: Annotated[
        list[EventOut], Meta(description="Every event the caller organises, in any status.")
    ]
    notifications: list[ExportedNotificationOut]
    webhooks: Annotated[
        list[dict[str, Any]],
        Meta(description="The caller's webhooks, without their secrets."),
    ]
    audit_events: Annotated[
        list[AuditEventOut],
        Meta(
            description="Audit entries where the caller is the actor, then those about the"
            " caller by someone else; each newest first."
        ),
    ]
