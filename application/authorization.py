"""Pure authorization policies: who may see and change what.

HTTP guards may check "signed in" early, but these functions decide; every
entrypoint (HTTP, CLI, worker) goes through the same use cases and so the same rules.
"""

from __future__ import annotations

from collections.abc import Collection
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


def can_own_event(actor: Principal | None, event: OrganizedEvent) -> bool:
    """Admins, and the organizer who owns the event (as long as they are an organizer):
    the only ones who may cancel or delete it, or change its co-organizers."""
    if actor is None:
        return False
    if actor.is_admin:
        return True
    return actor.role is Role.ORGANIZER and actor.user_id == event.organizer_id


def can_manage_event(
    actor: Principal | None, event: OrganizedEvent, co_organizers: Collection[UUID] = ()
) -> bool:
    """The event's managers: its owner, admins, and its co-organizers while they are
    (still) organizers. `co_organizers` is the event's co-organizer set as stored;
    the actor's role is the current stored one (demoted or deactivated, no rights)."""
    if can_own_event(actor, event):
        return True
    return actor is not None and actor.role is Role.ORGANIZER and actor.user_id in co_organizers


def can_view_event(
    actor: Principal | None, event: OrganizedEvent, co_organizers: Collection[UUID] = ()
) -> bool:
    """Published and cancelled events are public; drafts only for who manages them."""
    return event.status is not EventStatus.DRAFT or can_manage_event(actor, event, co_organizers)


def visible_event(
    actor: Principal | None,
    event: E | None,
    event_ref: UUID,
    co_organizers: Collection[UUID] = (),
) -> E:
    """The event, or NotFound when it is missing or the caller may not know it exists."""
    if event is None or not can_view_event(actor, event, co_organizers):
        raise NotFound("event", event_ref)
    return event


def managed_event(
    actor: Principal | None,
    event: E | None,
    event_ref: UUID,
    co_organizers: Collection[UUID] = (),
) -> E:
    """The event if the caller manages it (owner, co-organizer, admin); NotFound if
    they may not even see it."""
    visible = visible_event(actor, event, event_ref, co_organizers)
    if not can_manage_event(actor, visible, co_organizers):
        require_signed_in(actor)
        raise NotAllowed("only the event's organizers or an admin may do this")
    return visible


def owned_event(
    actor: Principal | None,
    event: E | None,
    event_ref: UUID,
    co_organizers: Collection[UUID] = (),
) -> E:
    """The event if the caller owns it or is an admin; NotFound if they may not even
    see it, NotAllowed for everyone else (co-organizers included)."""
    visible = visible_event(actor, event, event_ref, co_organizers)
    if not can_own_event(actor, visible):
        require_signed_in(actor)
        raise NotAllowed("only the event's organizer or an admin may do this")
    return visible
