"""Which webhook deliveries follow from which domain facts, and what they carry.

The unit of work hands over what its aggregates recorded, as each is written
(application/facts.py), beside the mail notifications (application/notifications.py):
this module finds the endpoints subscribed to the fact's webhook type and queues
one outbox row (kind `webhook`) per endpoint in the same transaction, so a
delivery exists if and only if the change it reports was committed.

Who hears about an event: enabled endpoints of the event's organizer, and those
of admins. The payload is a snapshot taken now, `{type, timestamp, data}`, and
carries ids, the event's title, times and status, and for registrations the
attendee's id and full name: never an address, password or token.

Adding a webhook type is one line in `WEBHOOK_TYPE_OF` (and the contract's list,
`WEBHOOK_TYPES`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from application.ports.notifications import Notification, NotificationKind, Outbox
from application.ports.system import IdGenerator
from application.ports.webhook_endpoints import WebhookRepository
from domain.domain_events import (
    AttendeeLeft,
    AttendeePromoted,
    AttendeeRegistered,
    CheckedIn,
    DomainEvent,
    EventCancelled,
    EventDeleted,
    EventPublished,
    EventRescheduled,
    EventRevised,
)
from domain.event import Event

PING = "webhook.ping"
#: The namespace of the per-endpoint cause ids (uuid5 of the fact's cause and the
#: endpoint's id): (cause_id, recipient_id) being unique means once per endpoint.
_CAUSES = UUID("6f1d8a5e-7c1b-4b1e-9a57-3b1f0f1e8c21")

#: One line per fact that reaches webhooks: its webhook type.
WEBHOOK_TYPE_OF: Mapping[type[DomainEvent], Callable[[Any], str]] = {
    EventPublished: lambda fact: "event.published",
    EventRescheduled: lambda fact: "event.updated",
    EventRevised: lambda fact: "event.updated",
    EventCancelled: lambda fact: "event.cancelled",
    EventDeleted: lambda fact: "event.deleted",
    AttendeeRegistered: lambda fact: (
        "registration.waitlisted" if fact.waitlisted else "registration.confirmed"
    ),
    AttendeePromoted: lambda fact: "registration.promoted",
    AttendeeLeft: lambda fact: "registration.cancelled",
    CheckedIn: lambda fact: "check_in.created",
}


def _one_update_per_write(facts: Iterable[DomainEvent]) -> list[DomainEvent]:
    """One `event.updated` per event and write: a PATCH that renames an event and
    resizes it is one change to its subscribers, with every field it touched."""
    merged: list[DomainEvent] = []
    updates: dict[UUID, tuple[int, EventRescheduled | EventRevised]] = {}
    for fact in facts:
        if not isinstance(fact, EventRescheduled | EventRevised):
            merged.append(fact)
        elif fact.event_id not in updates:
            updates[fact.event_id] = (len(merged), fact)
            merged.append(fact)
        else:
            at, first = updates[fact.event_id]
            changed = tuple(dict.fromkeys((*first.changed, *fact.changed)))
            main = first if isinstance(first, EventRescheduled) else fact
            updates[fact.event_id] = (at, replace(main, changed=changed))
            merged[at] = updates[fact.event_id][1]
    return merged


def cause_for(cause_id: UUID, webhook_id: UUID) -> UUID:
    """The outbox cause of one fact's delivery to one endpoint: deterministic."""
    return uuid.uuid5(_CAUSES, f"{cause_id}:{webhook_id}")


def webhook_body(event_type: str, timestamp: datetime, data: Mapping[str, Any]) -> str:
    """The JSON body as sent (and as signed), fixed when the delivery is queued."""
    return json.dumps(
        {"type": event_type, "timestamp": _iso(timestamp), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


def webhook_notification(
    *,
    cause_id: UUID,
    webhook_id: UUID,
    owner_id: UUID,
    event_type: str,
    at: datetime,
    data: Mapping[str, Any],
    event_id: UUID | None = None,
) -> Notification:
    return Notification(
        cause_id=cause_id,
        kind=NotificationKind.WEBHOOK,
        recipient_id=owner_id,
        created_at=at,
        event_id=event_id,
        webhook_id=webhook_id,
        details={"type": event_type, "payload": webhook_body(event_type, at, data)},
    )


async def queue_webhooks(
    hooks: WebhookRepository,
    outbox: Outbox,
    facts: Iterable[DomainEvent],
    ids: IdGenerator,
    *,
    event: Event | None = None,
) -> None:
    """Queue a delivery per subscribed endpoint for each of `facts`. `event` is the
    aggregate that recorded them, as written (for the payload's snapshot)."""
    for fact in _one_update_per_write(facts):
        type_of = WEBHOOK_TYPE_OF.get(type(fact))
        event_id = getattr(fact, "event_id", None)
        if type_of is None or not isinstance(event_id, UUID):
            continue
        event_type = type_of(fact)
        subscribers = await hooks.subscribers(event_id=event_id, event_type=event_type)
        if not subscribers:
            continue
        data = await _data(hooks, fact, event_id, event if event and event.id == event_id else None)
        cause = ids.new_id()
        for subscriber in subscribers:
            await outbox.add(
                webhook_notification(
                    cause_id=cause_for(cause, subscriber.webhook_id),
                    webhook_id=subscriber.webhook_id,
                    owner_id=subscriber.owner_id,
                    event_type=event_type,
                    at=fact.occurred_at,
                    data=data,
                    event_id=event_id,
                )
            )


async def _data(
    hooks: WebhookRepository, fact: DomainEvent, event_id: UUID, event: Event | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"event": _event(event_id, event)}
    match fact:
        case AttendeeRegistered() | AttendeePromoted() | AttendeeLeft() | CheckedIn():
            data["registration_id"] = str(fact.registration_id)
            data["event_id"] = str(event_id)
            data["user"] = {
                "id": str(fact.user_id),
                "full_name": await hooks.display_name(fact.user_id) or "",
            }
            if isinstance(fact, AttendeeLeft):
                data["removed_by_organizer"] = fact.removed_by_organizer
            if isinstance(fact, CheckedIn):
                data["checked_in_at"] = _iso(fact.occurred_at)
        case EventRescheduled():
            data["time_changed"] = fact.time_changed
            data["place_changed"] = fact.place_changed
            data["changed"] = list(fact.changed)
        case EventRevised():
            data["time_changed"] = data["place_changed"] = False
            data["changed"] = list(fact.changed)
        case EventCancelled():
            data["reason"] = fact.reason
        case EventDeleted():
            data["event"]["title"] = fact.title
    return data


def _event(event_id: UUID, event: Event | None) -> dict[str, Any]:
    if event is None:
        return {"id": str(event_id)}
    return {
        "id": str(event.id),
        "title": event.title,
        "starts_at": _iso(event.window.starts_at),
        "ends_at": _iso(event.window.ends_at),
        "status": event.status.value,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
