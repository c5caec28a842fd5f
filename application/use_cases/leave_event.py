from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import require_signed_in, visible_event
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from application.seats import release_registration
from application.use_cases.manage_co_organizers import co_organizers_of_draft
from domain.errors import NotRegistered


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveEventCommand:
    actor: Principal | None
    event_id: UUID


class LeaveEvent:
    """A user gives up their registration (seat or waitlist ticket).

    - A freed seat goes to the first person on the waitlist, who is notified.
    - Events that have ended or were cancelled can no longer be left.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: LeaveEventCommand) -> None:
        actor = require_signed_in(command.actor)
        async with self._uow() as uow:
            found = await uow.events.get_for_update(command.event_id)
            event = visible_event(
                actor, found, command.event_id, await co_organizers_of_draft(uow, found)
            )
            registration = await uow.registrations.find(event.id, actor.user_id)
            if registration is None:
                raise NotRegistered(event.id, actor.user_id)
            await release_registration(uow, event, registration, now=self._clock.now())
            await uow.commit()
