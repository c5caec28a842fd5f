from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import managed_event
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from application.seats import release_registration
from domain.errors import NotFound


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveAttendeeCommand:
    actor: Principal | None
    event_id: UUID
    registration_id: UUID


class RemoveAttendee:
    """The event's managers (owner, co-organizers, admins) remove someone's registration.

    - The same rules as leaving apply; the removed person is told it was the organizer.
    - A registration of another event is not found here.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: RemoveAttendeeCommand) -> None:
        async with self._uow() as uow:
            event = managed_event(
                command.actor,
                await uow.events.get_for_update(command.event_id),
                command.event_id,
                await uow.co_organizers.user_ids(command.event_id),
            )
            registration = await uow.registrations.get(command.registration_id)
            if registration is None or registration.event_id != event.id:
                raise NotFound("registration", command.registration_id)
            await release_registration(
                uow, event, registration, now=self._clock.now(), by_organizer=True
            )
            await uow.commit()
