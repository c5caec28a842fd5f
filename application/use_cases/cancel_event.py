from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.authorization import owned_event
from application.ports.queries import EventQueries, EventView
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.principal import Principal
from application.use_cases.get_event import co_organizer_ids, with_manager_figures
from domain.event import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelEventCommand:
    actor: Principal | None
    event_id: UUID
    reason: str = ""


async def cancel_and_release(uow: UnitOfWork, event: Event, reason: str, *, now: datetime) -> None:
    """Cancel a locked event, tell its attendees, then release their registrations.

    The event is saved first: that is when its facts are announced, to the
    registrations as they stand (application/facts.py)."""
    event.cancel(reason, now)
    await uow.events.save(event)
    await uow.registrations.cancel_all(event.id, now)


class CancelEvent:
    """The organizer or an admin (not a co-organizer) calls a published event off, for good.

    - Only published events can be cancelled (drafts are deleted instead).
    - Every attendee and waitlisted person is notified; their registrations end.
    """

    def __init__(self, uow: UnitOfWorkFactory, queries: EventQueries, clock: Clock) -> None:
        self._uow = uow
        self._queries = queries
        self._clock = clock

    async def execute(self, command: CancelEventCommand) -> EventView:
        async with self._uow() as uow:
            event = owned_event(
                command.actor,
                await uow.events.get_for_update(command.event_id),
                command.event_id,
                await uow.co_organizers.user_ids(command.event_id),
            )
            await cancel_and_release(uow, event, command.reason, now=self._clock.now())
            await uow.commit()
        view = await self._queries.get(command.event_id)
        assert view is not None, "an event committed a moment ago must be readable"
        return await with_manager_figures(
            self._queries, view, command.actor, await co_organizer_ids(self._queries, view.id)
        )
