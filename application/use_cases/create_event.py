from __future__ import annotations

from dataclasses import dataclass, field

from application.accounts import require_verified_email
from application.authorization import require_role
from application.event_input import LocationInput, WindowInput
from application.ports.queries import EventQueries, EventView
from application.ports.security import HtmlSanitizer
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from application.use_cases.get_event import with_manager_figures
from domain.errors import InvalidTransition
from domain.event import Event, EventStatus, description_input
from domain.users import Role
from domain.values import Capacity, Location


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateEventCommand:
    actor: Principal | None
    title: str
    window: WindowInput
    capacity: int
    description: str = ""
    location: LocationInput = field(default_factory=LocationInput)
    waitlist_enabled: bool = False
    status: EventStatus = EventStatus.DRAFT


class CreateEvent:
    """Organizers and admins create events, which they then organize.

    - A new event is a draft unless it is created published right away.
    - The description is reduced to safe HTML before it is stored.
    - The organizer is notified of the creation (and of publication).
    - With `require_verified_email` (EVENTAPI_REQUIRE_VERIFIED_EMAIL) the
      organizer's address must be verified (EmailUnverified).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        queries: EventQueries,
        sanitizer: HtmlSanitizer,
        clock: Clock,
        ids: IdGenerator,
        *,
        require_verified_email: bool = False,
    ) -> None:
        self._require_verified = require_verified_email
        self._uow = uow
        self._queries = queries
        self._sanitizer = sanitizer
        self._clock = clock
        self._ids = ids

    async def execute(self, command: CreateEventCommand) -> EventView:
        actor = require_role(command.actor, Role.ORGANIZER)
        now = self._clock.now()
        event = Event.plan(
            id=self._ids.new_id(),
            organizer_id=actor.user_id,
            title=command.title,
            description=self._sanitizer.clean(description_input(command.description)),
            location=command.location.merged_into(Location()),
            window=command.window.merged_into(None),
            capacity=Capacity(command.capacity),
            waitlist_enabled=command.waitlist_enabled,
            now=now,
        )
        if command.status is EventStatus.CANCELLED:
            raise InvalidTransition(EventStatus.DRAFT.value, EventStatus.CANCELLED.value)
        if command.status is EventStatus.PUBLISHED:
            event.publish(now)
        async with self._uow() as uow:
            if self._require_verified:
                require_verified_email(
                    await uow.users.get(actor.user_id), required=self._require_verified
                )
            await uow.events.add(event)
            await uow.commit()
        view = await self._queries.get(event.id)
        assert view is not None, "an event committed a moment ago must be readable"
        return await with_manager_figures(self._queries, view, command.actor)
