from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.authorization import managed_event
from application.notifications import queue_notifications
from application.ports.queries import EventQueries, EventView
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.principal import Principal
from domain.event import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelEventCommand:
    actor: Principal | None
    event_id: UUID
    reason: str = ""


async def cancel_and_release(
    uow: UnitOfWork, event: Event, reason: str, *, now: datetime, ids: IdGenerator
) -> None:
    """Cancel a locked event, tell its attendees, then release their registrations."""
    event.cancel(reason, now)
    await queue_notifications(uow.outbox, event.pull_recorded(), ids)
    await uow.registrations.cancel_all(event.id, now)
    await uow.events.save(event)


class CancelEvent:
    """The organizer or an admin calls a published event off, for good.

    - Only published events can be cancelled (drafts are deleted instead).
    - Every attendee and waitlisted person is notified; their registrations end.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, queries: EventQueries, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow = uow
        self._queries = queries
        self._clock = clock
        self._ids = ids

    async def execute(self, command: CancelEventCommand) -> EventView:
        async with self._uow() as uow:
            event = managed_event(
                command.actor, await uow.events.get_for_update(command.event_id), command.event_id
            )
            await cancel_and_release(
                uow, event, command.reason, now=self._clock.now(), ids=self._ids
            )
            await uow.commit()
        view = await self._queries.get(command.event_id)
        assert view is not None, "an event committed a moment ago must be readable"
        return view
