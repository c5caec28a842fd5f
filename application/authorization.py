"""Pure authorization policies: who may see and change what.

HTTP guards may check "signed in" early, but these functions decide; every
entrypoint (HTTP, CLI, worker) goes through the same use cases and so the same rules.
"""

from __future__ import annotations

from typing import Protocol, TypeVar
from uuid import UUID

from application.errors import NotAuthenticated
from application.principal import Principal
from domain.errors import NotAllowed, NotFound
from domain.event import EventStatus
from domain.users import Role


class OrganizedEvent(Protocol):
    """What the policies look at: the Event aggregate and its read view both have it."""

    @property
    def organizer_id(self) -> UUID: ...

    @property
    def status(self) -> EventStatus: ...


E = TypeVar("E", bound=OrganizedEvent)


def require_signed_in(actor: Principal | None) -> Principal:
    if actor is None:
        raise NotAuthenticated("sign in to do this")
    return actor


def require_role(actor: Principal | None, role: Role) -> Principal:
    signed_in = require_signed_in(actor)
    if not signed_in.role.at_least(role):
        raise NotAllowed(f"this needs the {role.value} role")
    return signed_in


def can_manage_event(actor: Principal | None, event: OrganizedEvent) -> bool:
    """Admins manage every event; organizers manage the events they organize."""
    if actor is None:
        return False
    if actor.is_admin:
        return True
    return actor.role is Role.ORGANIZER and actor.user_id == event.organizer_id


def can_view_event(actor: Principal | None, event: OrganizedEvent) -> bool:
    """Published and cancelled events are public; drafts only for who manages them."""
    return event.status is not EventStatus.DRAFT or can_manage_event(actor, event)


def visible_event(actor: Principal | None, event: E | None, event_ref: UUID) -> E:
    """The event, or NotFound when it is missing or the caller may not know it exists."""
    if event is None or not can_view_event(actor, event):
        raise NotFound("event", event_ref)
    return event


def managed_event(actor: Principal | None, event: E | None, event_ref: UUID) -> E:
    """The event if the caller manages it; NotFound if they may not even see it."""
    visible = visible_event(actor, event, event_ref)
    if not can_manage_event(actor, visible):
        require_signed_in(actor)
        raise NotAllowed("only the event's organizer or an admin may do this")
    return visible
