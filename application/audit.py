"""Which domain facts the audit log keeps, and as what.

The unit of work hands over what its aggregates recorded as each is written
(application/facts.py); `audit_entries` turns the facts listed in `AUDITED` into
audit entries in the same transaction, so an entry exists if and only if the
change it reports was committed. Who acted and from where comes from the
`ActorContext` the entrypoint set, not from the facts (docs/adr/0008-audit-log.md).

`details` holds ids and short codes only: never a password, token, secret,
address or name, so an erased account leaves nothing personal behind in the
log but its id.

Adding an audited fact is one line in `AUDITED`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.ports.audit import Actor, AuditEntry, AuditLog
from application.ports.system import IdGenerator
from domain.domain_events import (
    AccountActivated,
    AccountDeactivated,
    AccountErased,
    AttendeeLeft,
    CoOrganizerAdded,
    CoOrganizerRemoved,
    DomainEvent,
    EventCancelled,
    EventDeleted,
    EventPublished,
    PasswordChanged,
    PasswordReset,
    RoleChanged,
    SignInFailed,
    SignInLockedOut,
    WebhookCreated,
    WebhookDeleted,
)

USER = "user"
EVENT = "event"
WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class Audited:
    """What one fact is in the log; who and where are added from the context."""

    action: str
    subject_type: str | None
    subject_id: UUID | None
    details: Mapping[str, str] = field(default_factory=dict)


Translation = Callable[[Any], Audited | None]


def about_user(action: str) -> Translation:
    """A fact about the account `fact.user_id`, with nothing more to say."""
    return lambda fact: Audited(action, USER, fact.user_id)


def about_event(action: str) -> Translation:
    return lambda fact: Audited(action, EVENT, fact.event_id)


def co_organizer(action: str) -> Translation:
    """About the event; who gained or lost the rights is in `details`."""
    return lambda fact: Audited(action, EVENT, fact.event_id, {"user_id": str(fact.user_id)})


def _role_changed(fact: RoleChanged) -> Audited:
    return Audited(
        "user.role_changed", USER, fact.user_id, {"from": fact.previous_role, "to": fact.role}
    )


def _sign_in_failed(fact: SignInFailed) -> Audited:
    subject = USER if fact.user_id is not None else None
    return Audited("auth.sign_in_failed", subject, fact.user_id, {"reason": fact.reason})


def _locked_out(fact: SignInLockedOut) -> Audited:
    subject = USER if fact.user_id is not None else None
    details = {"retry_after_seconds": str(fact.retry_after_seconds)}
    return Audited("auth.locked_out", subject, fact.user_id, details)


def _attendee_removed(fact: AttendeeLeft) -> Audited | None:
    """Only a removal by the organizer (or an admin): leaving on one's own is not audited."""
    if not fact.removed_by_organizer:
        return None
    details = {"event_id": str(fact.event_id), "registration_id": str(fact.registration_id)}
    return Audited("attendee.removed", USER, fact.user_id, details)


#: Fact type -> its audit entry (None: not this time). Facts not listed are not audited.
AUDITED: Mapping[type[DomainEvent], Translation] = {
    SignInFailed: _sign_in_failed,
    SignInLockedOut: _locked_out,
    PasswordChanged: about_user("user.password_changed"),
    PasswordReset: about_user("user.password_reset"),
    RoleChanged: _role_changed,
    AccountDeactivated: about_user("user.deactivated"),
    AccountActivated: about_user("user.activated"),
    AccountErased: about_user("user.erased"),
    EventPublished: about_event("event.published"),
    EventCancelled: about_event("event.cancelled"),
    EventDeleted: about_event("event.deleted"),
    CoOrganizerAdded: co_organizer("event.co_organizer_added"),
    CoOrganizerRemoved: co_organizer("event.co_organizer_removed"),
    AttendeeLeft: _attendee_removed,
    WebhookCreated: lambda fact: Audited(
        "webhook.created", WEBHOOK, fact.webhook_id, {"owner_id": str(fact.owner_id)}
    ),
    WebhookDeleted: lambda fact: Audited(
        "webhook.deleted", WEBHOOK, fact.webhook_id, {"owner_id": str(fact.owner_id)}
    ),
}

#: Every action the log can hold (the `action` filter's documentation).
ACTIONS = (
    "auth.sign_in_failed",
    "auth.locked_out",
    "user.password_changed",
    "user.password_reset",
    "user.role_changed",
    "user.deactivated",
    "user.activated",
    "user.erased",
    "event.published",
    "event.cancelled",
    "event.deleted",
    "event.co_organizer_added",
    "event.co_organizer_removed",
    "attendee.removed",
    "webhook.created",
    "webhook.deleted",
)


def audit_entries(facts: Iterable[DomainEvent], actor: Actor, ids: IdGenerator) -> list[AuditEntry]:
    entries = []
    for fact in facts:
        translate = AUDITED.get(type(fact))
        audited = translate(fact) if translate is not None else None
        if audited is None:
            continue
        entries.append(
            AuditEntry(
                id=ids.new_id(),
                at=fact.occurred_at,
                actor_id=actor.user_id,
                action=audited.action,
                subject_type=audited.subject_type,
                subject_id=audited.subject_id,
                ip=actor.ip,
                details=dict(audited.details),
            )
        )
    return entries


async def append_audit_entries(
    log: AuditLog, facts: Iterable[DomainEvent], actor: Actor, ids: IdGenerator
) -> None:
    for entry in audit_entries(facts, actor, ids):
        await log.append(entry)
