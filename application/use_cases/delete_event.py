from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import managed_event
from application.notifications import queue_notifications
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.domain_events import EventDeleted
from domain.event import EventStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteEventCommand:
    actor: Principal | None
    event_id: UUID


class DeleteEvent:
    """The organizer or an admin removes an event and its registrations for good.

    - Attendees of a published event are notified before their registrations go.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def execute(self, command: DeleteEventCommand) -> None:
        async with self._uow() as uow:
            event = managed_event(
                command.actor, await uow.events.get_for_update(command.event_id), command.event_id
            )
            if event.status is EventStatus.PUBLISHED:
                deleted = EventDeleted(
                    occurred_at=self._clock.now(), event_id=event.id, title=event.title
                )
                await queue_notifications(uow.outbox, [deleted], self._ids)
            await uow.events.delete(event.id)
            await uow.commit()
