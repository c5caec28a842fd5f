"""Co-organizers: people who manage an event alongside its organizer.

The owner or an admin adds and removes them; every manager (owner,
co-organizers, admins) may list them. What a co-organizer may then do is decided
in application/authorization.py (`can_manage_event` against `can_own_event`).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import managed_event, owned_event, require_signed_in
from application.ports.queries import CoOrganizerView, EventQueries, PersonSummary
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.principal import Principal
from domain.errors import NotAnOrganizer
from domain.event import Event, EventStatus
from domain.users import Role


async def co_organizers_of_draft(uow: UnitOfWork, event: Event | None) -> frozenset[UUID]:
    """What `visible_event` needs to know about an event that may be a draft: its
    co-organizers (none is looked up for a published or cancelled event, which
    everyone sees)."""
    if event is None or event.status is not EventStatus.DRAFT:
        return frozenset()
    return await uow.co_organizers.user_ids(event.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class CoOrganizerCommand:
    actor: Principal | None
    event_id: UUID
    user_id: UUID


class AddCoOrganizer:
    """The owner or an admin makes an active organizer (or admin) a co-organizer.

    - Anyone else, an unknown account included, is NotAnOrganizer (409): the
      answer does not tell which accounts exist.
    - The owner themself and an existing co-organizer are refused (409).
    - A cancelled event changes no more (409).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: CoOrganizerCommand) -> CoOrganizerView:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        async with self._uow() as uow:
            # The account before the event, as erasure locks them: it cannot be
            # closed or demoted while it is being added.
            user = await uow.users.get_for_share(command.user_id)
            found = await uow.events.get_for_update(command.event_id)
            # Read under the event's lock: two concurrent adds cannot both see "not yet".
            current = await uow.co_organizers.user_ids(command.event_id)
            event = owned_event(actor, found, command.event_id, current)
            if user is None or not user.is_active or not user.role.at_least(Role.ORGANIZER):
                raise NotAnOrganizer(command.user_id)
            added = event.add_co_organizer(user.id, current=current, by=actor.user_id, now=now)
            await uow.co_organizers.add(added)
            await uow.events.save(event)  # hands over its facts (the audit entry)
            await uow.commit()
        return CoOrganizerView(
            user=PersonSummary(id=user.id, full_name=user.full_name), added_at=added.added_at
        )


class RemoveCoOrganizer:
    """The owner or an admin takes a co-organizer's rights away; someone who is not
    a co-organizer of the event is not found."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: CoOrganizerCommand) -> None:
        async with self._uow() as uow:
            found = await uow.events.get_for_update(command.event_id)
            current = await uow.co_organizers.user_ids(command.event_id)
            event = owned_event(command.actor, found, command.event_id, current)
            event.remove_co_organizer(command.user_id, current=current, now=self._clock.now())
            await uow.co_organizers.remove(event.id, command.user_id)
            await uow.events.save(event)
            await uow.commit()


@dataclass(frozen=True, slots=True, kw_only=True)
class ListCoOrganizersCommand:
    actor: Principal | None
    event_id: UUID


class ListCoOrganizers:
    """The event's managers see who co-organizes it, in the order they were added."""

    def __init__(self, queries: EventQueries) -> None:
        self._queries = queries

    async def execute(self, command: ListCoOrganizersCommand) -> list[CoOrganizerView]:
        listed = await self._queries.co_organizers(command.event_id)
        managed_event(
            command.actor,
            await self._queries.get(command.event_id),
            command.event_id,
            frozenset(c.user.id for c in listed),
        )
        return listed
