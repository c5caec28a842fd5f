from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.authorization import managed_event
from application.ports.queries import PersonSummary
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.domain_events import CheckedIn
from domain.errors import AlreadyCheckedIn, NotFound, TicketNotValid


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckInCommand:
    actor: Principal | None
    event_id: UUID
    ticket_code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckInView:
    registration_id: UUID
    user: PersonSummary
    checked_in_at: datetime


class CheckInAttendee:
    """The event's managers (owner, co-organizers, admins) scan a ticket at the door.

    - Exactly once per ticket: one conditional write decides (never read-then-write),
      so of any number of simultaneous scans one succeeds; every other one is
      AlreadyCheckedIn, carrying the first check-in's time.
    - A code that is no registration of this event (another event's included) is
      NotFound; a cancelled registration's code is TicketNotValid.
    - Records the fact `CheckedIn` with the unit of work.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: CheckInCommand) -> CheckInView:
        now = self._clock.now()
        async with self._uow() as uow:
            event = managed_event(
                command.actor,
                await uow.events.get(command.event_id),
                command.event_id,
                await uow.co_organizers.user_ids(command.event_id),
            )
            registration = await uow.registrations.check_in(event.id, command.ticket_code, now)
            if registration is None:
                found = await uow.registrations.find_by_ticket(event.id, command.ticket_code)
                if found is None:
                    raise NotFound("ticket", "with this code")
                if found.checked_in_at is not None:
                    raise AlreadyCheckedIn(found.id, found.checked_in_at)
                raise TicketNotValid(found.id, found.status.value)
            user = await uow.users.get(registration.user_id)
            await uow.record(
                CheckedIn(
                    occurred_at=now,
                    event_id=event.id,
                    user_id=registration.user_id,
                    registration_id=registration.id,
                )
            )
            await uow.commit()
        return CheckInView(
            registration_id=registration.id,
            user=PersonSummary(
                id=registration.user_id, full_name=user.full_name if user is not None else ""
            ),
            checked_in_at=now,
        )
