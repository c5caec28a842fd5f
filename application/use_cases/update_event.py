from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from application.authorization import can_own_event, managed_event
from application.errors import PreconditionFailed
from application.event_input import LocationInput, WindowInput
from application.ports.queries import EventQueries, EventView
from application.ports.security import HtmlSanitizer
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.principal import Principal
from application.use_cases.cancel_event import cancel_and_release
from application.use_cases.get_event import co_organizer_ids, with_manager_figures
from domain.errors import InvalidTransition, NotAllowed
from domain.event import Event, EventStatus, description_input
from domain.values import Capacity, Location


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateEventCommand:
    """Absent (None) fields stay as they are."""

    actor: Principal | None
    event_id: UUID
    #: The revision the caller last saw (If-Match); None to overwrite regardless.
    expected_revision: int | None = None
    title: str | None = None
    description: str | None = None
    location: LocationInput | None = None
    window: WindowInput = field(default_factory=WindowInput)
    capacity: int | None = None
    waitlist_enabled: bool | None = None
    status: EventStatus | None = None


class UpdateEvent:
    """The organizer, a co-organizer or an admin changes an event or publishes it;
    only the organizer or an admin may cancel it.

    - A stale `expected_revision` changes nothing (PreconditionFailed).
    - Capacity never drops below the confirmed attendees; extra seats go to the
      waitlist in order.
    - A change of time or place is announced to the attendees.
    - Status moves only forward: draft → published → cancelled; cancelled is final.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        queries: EventQueries,
        sanitizer: HtmlSanitizer,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._queries = queries
        self._sanitizer = sanitizer
        self._clock = clock

    async def execute(self, command: UpdateEventCommand) -> EventView:
        now = self._clock.now()
        async with self._uow() as uow:
            event = managed_event(
                command.actor,
                await uow.events.get_for_update(command.event_id),
                command.event_id,
                await uow.co_organizers.user_ids(command.event_id),
            )
            if command.status is EventStatus.CANCELLED and not can_own_event(command.actor, event):
                raise NotAllowed("only the event's organizer or an admin may cancel it")
            if command.expected_revision not in (None, event.revision):
                raise PreconditionFailed()
            description = command.description
            event.revise(
                now=now,
                title=command.title,
                description=None
                if description is None
                else self._sanitizer.clean(description_input(description)),
                location=_merged(command.location, event),
                window=None
                if command.window.is_empty
                else command.window.merged_into(event.window),
                waitlist_enabled=command.waitlist_enabled,
            )
            if command.capacity is not None:
                await self._resize(uow, event, Capacity(command.capacity), now)
            await self._move_status(uow, event, command.status, now)
            await uow.events.save(event)
            await uow.commit()
        view = await self._queries.get(command.event_id)
        assert view is not None, "an event committed a moment ago must be readable"
        return await with_manager_figures(
            self._queries, view, command.actor, await co_organizer_ids(self._queries, view.id)
        )

    async def _resize(
        self, uow: UnitOfWork, event: Event, capacity: Capacity, now: datetime
    ) -> None:
        head = await uow.registrations.waitlist_head(
            event.id, event.waitlist_needed_to_resize(capacity)
        )
        for promoted in event.change_capacity(capacity, waitlist_head=head, now=now):
            await uow.registrations.save(promoted)

    async def _move_status(
        self, uow: UnitOfWork, event: Event, target: EventStatus | None, now: datetime
    ) -> None:
        if target is None or target is event.status:
            return
        if target is EventStatus.PUBLISHED:
            event.publish(now)
        elif target is EventStatus.CANCELLED:
            await cancel_and_release(uow, event, "", now=now)
        else:
            raise InvalidTransition(event.status.value, target.value)


def _merged(location: LocationInput | None, event: Event) -> Location | None:
    return None if location is None else location.merged_into(event.location)
