from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import owned_event
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteEventCommand:
    actor: Principal | None
    event_id: UUID


class DeleteEvent:
    """The organizer or an admin (not a co-organizer) removes an event and its
    registrations for good.

    - Whoever still holds a registration is notified (the unit of work announces
      the deletion before the registrations go).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: DeleteEventCommand) -> None:
        async with self._uow() as uow:
            event = owned_event(
                command.actor,
                await uow.events.get_for_update(command.event_id),
                command.event_id,
                await uow.co_organizers.user_ids(command.event_id),
            )
            event.delete(self._clock.now())
            await uow.events.delete(event)
            await uow.commit()
