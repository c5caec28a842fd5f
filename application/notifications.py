"""Which notifications follow from which domain facts.

The unit of work hands over what its aggregates recorded, as each is written
(application/facts.py); this module turns each fact into outbox entries in the
same transaction, so a notification exists if and only if the change it reports
was committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from application.ports.notifications import Broadcast, Notification, NotificationKind, Outbox
from application.ports.system import IdGenerator
from application.reminders import ReminderSchedule, reminder_cause
from domain.domain_events import (
    AttendeeLeft,
    AttendeePromoted,
    AttendeeRegistered,
    DomainEvent,
    EmailVerificationRequested,
    EventCancelled,
    EventCreated,
    EventDeleted,
    EventPublished,
    EventRescheduled,
    PasswordResetRequested,
    UserSignedUp,
)
from domain.registration import RegistrationStatus

Kind = NotificationKind


async def queue_notifications(
    outbox: Outbox,
    facts: Iterable[DomainEvent],
    ids: IdGenerator,
    reminders: ReminderSchedule | None = None,
) -> None:
    """Record the notifications for `facts`. Broadcasts go to the attendees as
    they stand now, so this runs before registrations are released or deleted.
    With a `reminders` schedule (the composition root passes the configured one),
    reminders follow the seats and the start time (`_schedule_reminders`)."""
    for fact in facts:
        await _queue(outbox, fact, ids.new_id(), reminders)
        if reminders is not None:
            await _schedule_reminders(outbox, fact, reminders)


def _reminder(fact: DomainEvent, schedule: ReminderSchedule | None) -> list[Notification]:
    """The reminder a newly taken seat gets (one, when its time is still ahead),
    queued with the seat's own mail."""
    if schedule is None or not isinstance(fact, AttendeeRegistered | AttendeePromoted):
        return []
    if isinstance(fact, AttendeeRegistered) and fact.waitlisted:
        return []
    due = schedule.due_at(fact.starts_at, now=fact.occurred_at)
    if due is None:
        return []
    return [
        Notification(
            cause_id=reminder_cause(fact.event_id),
            kind=Kind.REMINDER,
            recipient_id=fact.user_id,
            event_id=fact.event_id,
            created_at=fact.occurred_at,
            due_at=due,
        )
    ]


async def _schedule_reminders(
    outbox: Outbox, fact: DomainEvent, schedule: ReminderSchedule
) -> None:
    """One reminder per confirmed seat, due `schedule.before` the start:

    - a seat (joined or promoted) gets one when that time is still ahead
      (`_reminder`, queued by `_queue` with the seat's mail);
    - a seat given up (left, removed) loses its pending one;
    - a new start time moves the pending ones, and gives one to every confirmed
      attendee who has none yet, or withdraws them when the new time has passed;
    - a cancelled or deleted event withdraws them all.
    What was sent stays sent: the cause is the same, so nobody gets a second one.
    """
    match fact:
        case AttendeeLeft():
            await outbox.withdraw(reminder_cause(fact.event_id), recipient_id=fact.user_id)
        case EventRescheduled(time_changed=True):
            cause = reminder_cause(fact.event_id)
            due = schedule.due_at(fact.starts_at, now=fact.occurred_at)
            if due is None:
                await outbox.withdraw(cause)
                return
            await outbox.reschedule(cause, due_at=due)
            await outbox.broadcast(
                Broadcast(
                    cause_id=cause,
                    kind=Kind.REMINDER,
                    event_id=fact.event_id,
                    created_at=fact.occurred_at,
                    statuses=frozenset({RegistrationStatus.CONFIRMED}),
                    due_at=due,
                )
            )
        case EventCancelled() | EventDeleted():
            await outbox.withdraw(reminder_cause(fact.event_id))


async def _queue(
    outbox: Outbox, fact: DomainEvent, cause_id: UUID, reminders: ReminderSchedule | None
) -> None:
    at = fact.occurred_at
    match fact:
        case UserSignedUp(user_id=user_id):
            # The welcome mail is also the first verification mail, when a token came.
            details = (
                _token_details(fact.verification_token, fact.verification_expires_at)
                if fact.verification_token and fact.verification_expires_at is not None
                else {}
            )
            await outbox.add(
                Notification(
                    cause_id=cause_id,
                    kind=Kind.WELCOME,
                    recipient_id=user_id,
                    created_at=at,
                    details=details,
                )
            )
        case PasswordResetRequested() | EmailVerificationRequested():
            # The raw token travels in the row's details until the row is settled,
            # and is scrubbed then (SECRET_DETAILS; docs/security.md).
            kind = (
                Kind.PASSWORD_RESET
                if isinstance(fact, PasswordResetRequested)
                else Kind.EMAIL_VERIFICATION
            )
            await outbox.add(
                Notification(
                    cause_id=cause_id,
                    kind=kind,
                    recipient_id=fact.user_id,
                    created_at=at,
                    details=_token_details(fact.token, fact.expires_at),
                )
            )
        case EventCreated() | EventPublished():
            kind = Kind.EVENT_CREATED if isinstance(fact, EventCreated) else Kind.EVENT_PUBLISHED
            await outbox.add(
                Notification(
                    cause_id=cause_id,
                    kind=kind,
                    recipient_id=fact.organizer_id,
                    event_id=fact.event_id,
                    created_at=at,
                )
            )
        case AttendeeRegistered() | AttendeePromoted() | AttendeeLeft():
            await outbox.add(
                Notification(
                    cause_id=cause_id,
                    kind=_attendee_kind(fact),
                    recipient_id=fact.user_id,
                    event_id=fact.event_id,
                    created_at=at,
                    details=_attendee_details(fact),
                ),
                *_reminder(fact, reminders),
            )
        case EventRescheduled() | EventCancelled() | EventDeleted():
            await outbox.broadcast(
                Broadcast(
                    cause_id=cause_id,
                    kind=_broadcast_kind(fact),
                    event_id=fact.event_id,
                    created_at=at,
                    details=_broadcast_details(fact),
                )
            )


def _token_details(token: str, expires_at: datetime) -> dict[str, str]:
    return {"token": token, "expires_at": expires_at.isoformat()}


def _attendee_kind(fact: AttendeeRegistered | AttendeePromoted | AttendeeLeft) -> Kind:
    if isinstance(fact, AttendeeRegistered):
        return Kind.REGISTRATION_WAITLISTED if fact.waitlisted else Kind.REGISTRATION_CONFIRMED
    if isinstance(fact, AttendeePromoted):
        return Kind.REGISTRATION_PROMOTED
    return Kind.REGISTRATION_ENDED


def _attendee_details(
    fact: AttendeeRegistered | AttendeePromoted | AttendeeLeft,
) -> dict[str, str]:
    if isinstance(fact, AttendeeLeft):
        return {"removed_by_organizer": str(fact.removed_by_organizer).lower()}
    return {}


def _broadcast_kind(fact: EventRescheduled | EventCancelled | EventDeleted) -> Kind:
    if isinstance(fact, EventRescheduled):
        return Kind.EVENT_CHANGED
    return Kind.EVENT_CANCELLED if isinstance(fact, EventCancelled) else Kind.EVENT_DELETED


def _broadcast_details(fact: EventRescheduled | EventCancelled | EventDeleted) -> dict[str, str]:
    if isinstance(fact, EventRescheduled):
        return {
            "time_changed": str(fact.time_changed).lower(),
            "place_changed": str(fact.place_changed).lower(),
        }
    if isinstance(fact, EventCancelled):
        return {"reason": fact.reason}
    return {"title": fact.title}
